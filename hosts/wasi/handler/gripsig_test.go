package handler

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signJWT makes a token as Pushpin does: header {"typ":"JWT","alg":alg},
// the claims, and the signature with key ([]byte: HMAC secret,
// *ecdsa.PrivateKey, *rsa.PrivateKey; nil: empty signature).
func signJWT(t testing.TB, header, claims string, key any) string {
	t.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	switch k := key.(type) {
	case nil:
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("key %T", key)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hdr(alg string) string { return `{"typ":"JWT","alg":"` + alg + `"}` }

func claimsAt(iss string, exp time.Time) string {
	return `{"iss":"` + iss + `","exp":` + strconv.FormatInt(exp.Unix(), 10) + `}`
}

func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestGripSigHS256(t *testing.T) {
	now := time.Now()
	secret := []byte("changeme")
	v, err := NewGripVerifier("changeme", "pushpin")
	if err != nil || v.Alg() != "HS256" {
		t.Fatalf("verifier: %v %v", v, err)
	}
	valid := signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(time.Hour)), secret)
	if err := v.Verify(valid, now); err != nil {
		t.Fatalf("a token as Pushpin makes it: %v", err)
	}
	// the same secret written as base64 (a binary secret)
	v64, err := NewGripVerifier("base64:"+base64.StdEncoding.EncodeToString(secret), "")
	if err != nil || v64.Verify(valid, now) != nil {
		t.Fatalf("base64: key: %v", err)
	}
	parts := strings.Split(valid, ".")
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"missing", "", ErrGripMissing},
		{"wrong key", signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(time.Hour)), []byte("other")), ErrGripSignature},
		{"claims changed after signing", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(claimsAt("pushpin", now.Add(48*time.Hour)))) + "." + parts[2], ErrGripSignature},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:10], ErrGripSignature},
		{"expired", signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(-time.Second)), secret), ErrGripExpired},
		{"expires now", signJWT(t, hdr("HS256"), claimsAt("pushpin", now), secret), ErrGripExpired},
		{"no exp", signJWT(t, hdr("HS256"), `{"iss":"pushpin"}`, secret), ErrGripExpired},
		{"exp not a number", signJWT(t, hdr("HS256"), `{"iss":"pushpin","exp":"soon"}`, secret), ErrGripMalformed},
		{"not yet valid", signJWT(t, hdr("HS256"), `{"iss":"pushpin","exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`,"nbf":`+strconv.FormatInt(now.Add(time.Minute).Unix(), 10)+`}`, secret), ErrGripExpired},
		{"other issuer", signJWT(t, hdr("HS256"), claimsAt("someone", now.Add(time.Hour)), secret), ErrGripIssuer},
		{"no issuer", signJWT(t, hdr("HS256"), `{"exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`, secret), ErrGripIssuer},
		{"alg none", signJWT(t, `{"typ":"JWT","alg":"none"}`, claimsAt("pushpin", now.Add(time.Hour)), nil), ErrGripAlg},
		{"alg None", signJWT(t, `{"alg":"None"}`, claimsAt("pushpin", now.Add(time.Hour)), nil), ErrGripAlg},
		{"alg HS512", signJWT(t, hdr("HS512"), claimsAt("pushpin", now.Add(time.Hour)), secret), ErrGripAlg},
		{"alg ES256 for a secret", signJWT(t, hdr("ES256"), claimsAt("pushpin", now.Add(time.Hour)), secret), ErrGripAlg},
		{"no alg", signJWT(t, `{"typ":"JWT"}`, claimsAt("pushpin", now.Add(time.Hour)), secret), ErrGripMalformed},
		{"typ not JWT", signJWT(t, `{"typ":"JOSE+JSON","alg":"HS256"}`, claimsAt("pushpin", now.Add(time.Hour)), secret), ErrGripMalformed},
		{"crit", signJWT(t, `{"alg":"HS256","crit":["b64"],"b64":false}`, claimsAt("pushpin", now.Add(time.Hour)), secret), ErrGripMalformed},
		{"one part", "abc", ErrGripMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrGripMalformed},
		{"four parts", valid + ".x", ErrGripMalformed},
		{"bad base64", parts[0] + ".!!." + parts[2], ErrGripMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], ErrGripMalformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("HS256")) + "." + parts[1] + "." + parts[2], ErrGripMalformed},
		{"claims not JSON", signJWT(t, hdr("HS256"), `[1,2]`, secret), ErrGripMalformed},
		{"too long", strings.Repeat("a", maxGripToken+1), ErrGripMalformed},
	} {
		err := v.Verify(c.token, now)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// no issuer configured: any
	vAny, _ := NewGripVerifier("changeme", "")
	if err := vAny.Verify(signJWT(t, hdr("HS256"), claimsAt("someone", now.Add(time.Hour)), secret), now); err != nil {
		t.Fatalf("any issuer: %v", err)
	}
}

func TestGripSigES256(t *testing.T) {
	now := time.Now()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubPEM := publicPEM(t, &key.PublicKey)
	v, err := NewGripVerifier(pubPEM, "fastly")
	if err != nil || v.Alg() != "ES256" {
		t.Fatalf("verifier: %v %v", v, err)
	}
	if err := v.Verify(signJWT(t, hdr("ES256"), claimsAt("fastly", now.Add(time.Hour)), key), now); err != nil {
		t.Fatalf("valid ES256: %v", err)
	}
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"other key", signJWT(t, hdr("ES256"), claimsAt("fastly", now.Add(time.Hour)), other), ErrGripSignature},
		// the public key used as an HMAC secret (algorithm confusion)
		{"HS256 with the public key", signJWT(t, hdr("HS256"), claimsAt("fastly", now.Add(time.Hour)), []byte(pubPEM)), ErrGripAlg},
		{"alg none", signJWT(t, `{"alg":"none"}`, claimsAt("fastly", now.Add(time.Hour)), nil), ErrGripAlg},
		{"expired", signJWT(t, hdr("ES256"), claimsAt("fastly", now.Add(-time.Minute)), key), ErrGripExpired},
		{"short signature", strings.Join(strings.Split(signJWT(t, hdr("ES256"), claimsAt("fastly", now.Add(time.Hour)), key), ".")[:2], ".") + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 63)), ErrGripSignature},
	} {
		if err := v.Verify(c.token, now); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestGripSigRS256(t *testing.T) {
	now := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewGripVerifier(publicPEM(t, &key.PublicKey), "")
	if err != nil || v.Alg() != "RS256" {
		t.Fatalf("verifier: %v %v", v, err)
	}
	if err := v.Verify(signJWT(t, hdr("RS256"), claimsAt("pushpin", now.Add(time.Hour)), key), now); err != nil {
		t.Fatalf("valid RS256: %v", err)
	}
	tok := signJWT(t, hdr("RS256"), claimsAt("pushpin", now.Add(time.Hour)), key)
	bad := []byte(tok)
	bad[len(bad)-5] ^= 1
	if err := v.Verify(string(bad), now); !errors.Is(err, ErrGripSignature) && !errors.Is(err, ErrGripMalformed) {
		t.Fatalf("altered signature: %v", err)
	}
}

func TestNewGripVerifierRefuses(t *testing.T) {
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec256)
	private := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for name, key := range map[string]string{
		"empty":           "",
		"empty base64":    "base64:",
		"bad base64":      "base64:!!!",
		"P-384 key":       publicPEM(t, &ec384.PublicKey),
		"a private key":   private,
		"broken PEM":      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"not a PEM block": "-----BEGIN nothing",
	} {
		if _, err := NewGripVerifier(key, ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestServeRefusesUnsigned: a request without a valid Grip-Sig gets 403
// and never reaches the core; a signed one is served.
func TestServeRefusesUnsigned(t *testing.T) {
	secret := []byte("s3cret")
	v, _ := NewGripVerifier(string(secret), "pushpin")
	now := time.Now()
	for _, perRequest := range []bool{false, true} {
		opts := Options{Grip: v}
		h := New(opts)
		handshake := Request{Method: "GET", Path: "/socket.io/", Query: "EIO=4&transport=polling", Header: map[string]string{}}
		for name, tok := range map[string]string{
			"none":      "",
			"forged":    signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(time.Hour)), []byte("guess")),
			"expired":   signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(-time.Second)), secret),
			"alg none":  signJWT(t, `{"alg":"none"}`, claimsAt("pushpin", now.Add(time.Hour)), nil),
			"other iss": signJWT(t, hdr("HS256"), claimsAt("x", now.Add(time.Hour)), secret),
		} {
			req := handshake
			req.Header = map[string]string{"Grip-Sig": tok}
			if r := Refuse(opts, now.UnixNano(), req); r == nil || r.Status != 403 {
				t.Fatalf("%s: Refuse = %v", name, r)
			}
			var r Response
			h, r = serve(t, h, perRequest, now.UnixNano(), req)
			if r.Status != 403 || !strings.HasPrefix(string(r.Body), "forbidden: ") || len(r.Publish) != 0 {
				t.Fatalf("%s: %d %q", name, r.Status, r.Body)
			}
			if h.NextConn != 0 || len(h.app.Open) != 0 {
				t.Fatalf("%s: the core saw the request", name)
			}
		}
		if Refuse(opts, now.UnixNano(), Request{Tick: true}) != nil {
			t.Fatal("a tick is the platform's call, not the proxy's")
		}
		req := handshake
		req.Header = map[string]string{"Grip-Sig": signJWT(t, hdr("HS256"), claimsAt("pushpin", now.Add(time.Hour)), secret)}
		_, r := serve(t, h, perRequest, now.UnixNano(), req)
		var open struct{ Sid string }
		if r.Status != 200 || len(r.Body) < 2 || json.Unmarshal(r.Body[1:], &open) != nil || open.Sid == "" {
			t.Fatalf("signed handshake: %d %q", r.Status, r.Body)
		}
	}
}

// BenchmarkGripVerify: the cost of verifying one Grip-Sig (every request
// of a deployment with a key pays it once).
func BenchmarkGripVerify(b *testing.B) {
	now := time.Now()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for _, c := range []struct {
		name, key, token string
	}{
		{"HS256", "changeme", signJWT(b, hdr("HS256"), claimsAt("pushpin", now.Add(time.Hour)), []byte("changeme"))},
		{"ES256", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), signJWT(b, hdr("ES256"), claimsAt("pushpin", now.Add(time.Hour)), ec)},
	} {
		v, err := NewGripVerifier(c.key, "pushpin")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := v.Verify(c.token, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
