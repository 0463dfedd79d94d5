package native

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestPreferredEncoding(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"identity"}, ""},
		{[]string{"br"}, ""},
		{[]string{"gzip"}, "gzip"},
		{[]string{"deflate"}, "deflate"},
		{[]string{"gzip, deflate, br"}, "gzip"},
		{[]string{"deflate, gzip"}, "deflate"}, // a tie: the header's order
		{[]string{"GZIP"}, "gzip"},
		{[]string{"deflate;q=0.5, gzip;q=0.4"}, "deflate"},
		{[]string{"gzip;q=0, deflate"}, "deflate"},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"*"}, "gzip"},
		{[]string{"*;q=0.5, gzip;q=0"}, "deflate"},
		{[]string{"*;q=0.5, deflate"}, "deflate"}, // deflate q=1 beats gzip q=0.5
		{[]string{"gzip;q=0.5", "deflate;q=0.8"}, "deflate"},
		{[]string{"gzip;q=abc, deflate;q=0.1"}, "deflate"},
	} {
		if got := preferredEncoding(c.header); got != c.want {
			t.Errorf("%q: %q, want %q", c.header, got, c.want)
		}
	}
}

// pollingGet is a polling GET with Accept-Encoding as given and Go's
// transparent decompression off: the response as the server sent it.
func pollingGet(t *testing.T, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func decodeBody(t *testing.T, enc string, b []byte) string {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return string(b)
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b)) // HTTP's deflate is zlib's format
	default:
		t.Fatalf("Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestHTTPCompression: a polling response of at least the threshold is
// compressed in the coding the request accepts (gzip, deflate), with
// Content-Encoding and a Content-Length of the compressed body; a request
// that accepts neither, a smaller response, and a server with
// HTTPCompression disabled get it as is. The default is on (Node's).
func TestHTTPCompression(t *testing.T) {
	big := strings.Repeat("polling payload ", 200) // 3200 bytes
	for _, c := range []struct {
		name    string
		opts    *HTTPCompression
		size    int
		accept  string
		wantEnc string
		plain   bool // emitted with Compress(false)
	}{
		{"default gzip", nil, len(big), "gzip, deflate", "gzip", false},
		{"default deflate", nil, len(big), "deflate", "deflate", false},
		{"default identity", nil, len(big), "", "", false},
		{"default br only", nil, len(big), "br", "", false},
		{"default under threshold", nil, 900, "gzip", "", false},
		{"threshold 4000", &HTTPCompression{Threshold: 4000}, len(big), "gzip", "", false},
		{"threshold -1", &HTTPCompression{Threshold: -1}, 10, "gzip", "gzip", false},
		{"level 1", &HTTPCompression{Level: 1}, len(big), "gzip", "gzip", false},
		{"disabled", &HTTPCompression{Disable: true}, len(big), "gzip", "", false},
		{"Compress(false)", nil, len(big), "gzip", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload := big[:c.size]
			_, hs := newTestServer(t, Options{HTTPCompression: c.opts}, func(s *Server) {
				s.OnConnection(func(so *Socket) {
					if c.plain {
						so.Compress(false).Emit("m", payload)
					} else {
						so.Emit("m", payload)
					}
				})
			})
			base := hs.URL + "/socket.io/?EIO=4&transport=polling"
			_, open := get(t, base, nil)
			var hsk struct{ Sid string }
			if err := json.Unmarshal([]byte(strings.TrimPrefix(open, "0")), &hsk); err != nil || hsk.Sid == "" {
				t.Fatalf("handshake %q", open)
			}
			url := base + "&sid=" + hsk.Sid
			res, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader("40"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			want := `42["m","` + payload + `"]`
			var body string
			for i := 0; i < 5 && !strings.Contains(body, want); i++ {
				res, b := pollingGet(t, url, c.accept)
				enc := res.Header.Get("Content-Encoding")
				if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
					t.Fatalf("Cache-Control %q, want no-store (Node's)", cc)
				}
				if res.ContentLength != int64(len(b)) {
					t.Fatalf("Content-Length %d for %d bytes", res.ContentLength, len(b))
				}
				got := decodeBody(t, enc, b)
				if strings.Contains(got, want) {
					if enc != c.wantEnc {
						t.Fatalf("Content-Encoding %q, want %q", enc, c.wantEnc)
					}
					if enc != "" && len(got) > 1000 && len(b) >= len(got)/2 {
						t.Fatalf("compressed %d bytes into %d", len(got), len(b))
					}
				}
				body += got
			}
			if !strings.Contains(body, want) {
				t.Fatalf("polling never carried the message: %.200q", body)
			}
		})
	}
}
