// Package pushpin starts a private Pushpin (the GRIP proxy, Debian package
// "pushpin") for tests and the local runner: its own configuration and
// runtime directory, its own free ports, IPC sockets instead of the fixed
// ZeroMQ ports, and no system service.
package pushpin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallHint is what to run when pushpin is missing.
const InstallHint = "apt-get install -y pushpin (or: make test-wasi, which installs it)"

// Proxy is a running Pushpin.
type Proxy struct {
	HTTPAddr   string // clients connect here (host:port)
	PublishURL string // the publish API: http://127.0.0.1:N/publish/
	cmd        *exec.Cmd
	done       chan error
	LogFile    string
}

// Binary returns the pushpin executable or an error naming the install command.
func Binary() (string, error) {
	p, err := exec.LookPath("pushpin")
	if err != nil {
		return "", fmt.Errorf("pushpin is not installed: %s", InstallHint)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Options configures a Proxy.
type Options struct {
	// SigKey signs every request to the backend (Grip-Sig), written as
	// Pushpin's sig_key: a secret (HS256), "base64:" and the base64 of a
	// binary secret, or "file:" and the absolute path of a PKCS#8 PEM
	// private key (EC P-256: ES256). Empty: requests are not signed.
	SigKey string
	// SigIss is the token's issuer (sig_iss), default "pushpin".
	SigIss string
}

// Start runs pushpin in dir (created if needed), routing every path to
// backend (host:port) with WebSocket-over-HTTP, and waits until it accepts
// connections and publishes.
func Start(ctx context.Context, dir, backend string, opts Options) (*Proxy, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	pubPort, err := freePort()
	if err != nil {
		return nil, err
	}
	run := filepath.Join(dir, "run")
	logs := filepath.Join(dir, "log")
	for _, d := range []string{run, logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(opts.SigKey+opts.SigIss, "\r\n") {
		return nil, errors.New("pushpin: a signing setting spans lines")
	}
	sig := ""
	if opts.SigKey != "" {
		iss := opts.SigIss
		if iss == "" {
			iss = "pushpin"
		}
		sig = "# every request to the backend carries a Grip-Sig JWT made with these\nsig_iss=" + iss + "\nsig_key=" + opts.SigKey + "\n"
	}
	conf := fmt.Sprintf(`[global]
include={libdir}/internal.conf
rundir=%s
ipc_prefix=sc-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:%d
logdir=%s
log_level=2
# Pushpin drops a message published to a WebSocket whose client-side buffer
# is full (no backpressure for publishes): a larger buffer absorbs bursts.
client_buffer_size=65536
client_maxconn=10000

[proxy]
routesfile=routes
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out
%supdates_check=off

[handler]
push_in_spec=ipc://{rundir}/{ipc_prefix}push-in
push_in_sub_specs=ipc://{rundir}/{ipc_prefix}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port=%d
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=ipc://{rundir}/{ipc_prefix}command
message_rate=1000000
message_hwm=1000000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=200
# A session's long-poll channel stays subscribed this long between polls,
# so Pushpin records the ids published to it (and retries a hold that
# missed one; hosts/wasi/handler/poll.go).
subscription_linger=60
`, run, httpPort, logs, sig, pubPort)
	confPath := filepath.Join(dir, "pushpin.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "routes"), []byte("* "+backend+",over_http\n"), 0o644); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "pushpin.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin, "--config", confPath, "--merge-output")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its condure/proxy/handler children die with it
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proxy{HTTPAddr: "127.0.0.1:" + strconv.Itoa(httpPort),
		PublishURL: "http://127.0.0.1:" + strconv.Itoa(pubPort) + "/publish/", cmd: cmd, done: make(chan error, 1), LogFile: logFile}
	go func() { p.done <- cmd.Wait() }() // owned by the Proxy: ends when pushpin exits (Stop)
	if err := p.wait(ctx, httpPort, pubPort); err != nil {
		p.Stop()
		log, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("%w\npushpin log:\n%s", err, log)
	}
	return p, nil
}

func (p *Proxy) wait(ctx context.Context, ports ...int) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, port := range ports {
		for i := 0; ; i++ {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-p.done:
				p.done <- err
				return fmt.Errorf("pushpin exited: %v", err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return errors.New("pushpin did not listen within 20s")
			}
		}
	}
	// the publish API answers once the handler process runs
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Post(p.PublishURL, "application/json", strings.NewReader(`{"items":[]}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pushpin's publish API did not answer within 20s: %v", err)
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("pushpin exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends pushpin and its children (its process group) and waits.
func (p *Proxy) Stop() error {
	if p.cmd.Process == nil {
		return nil
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}
