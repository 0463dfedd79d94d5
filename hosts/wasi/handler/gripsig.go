package handler

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Grip-Sig: a GRIP proxy signs every request it forwards to the backend
// with a JWT in the Grip-Sig header, so that the backend can tell the
// proxy's requests from anyone else's. Pushpin 1.36 (src/proxy/proxyutil.cpp,
// src/corelib/jwt.cpp) makes the token from its sig_iss and sig_key
// settings: claims {"iss": sig_iss, "exp": now + 3600}; HS256 when sig_key
// is a secret (plain text, or "base64:" and the secret's standard base64),
// ES256 (RS256) when it is "file:" and the path of an EC P-256 (RSA)
// private key in PKCS#8 PEM. It signs each request anew, the POSTs of a
// WebSocket-over-HTTP connection and the holds it re-requests included,
// and drops the Grip-* headers a client sends. Fastly Fanout signs with
// ES256 and Fastly's key; the backend verifies with the public key.
//
// A handler with a GripVerifier (Options.Grip) answers 403 to a request
// whose token is missing, malformed, signed with another key or another
// algorithm (never "none"), expired (exp is required) or not yet valid
// (nbf), or from another issuer (when one is configured), before anything
// else reads the request.

// GripVerifier checks Grip-Sig tokens with one key.
type GripVerifier struct {
	alg    string // HS256, ES256 or RS256: the only algorithm accepted
	secret []byte
	ec     *ecdsa.PublicKey
	rsa    *rsa.PublicKey
	iss    string // the issuer required ("" any)
}

// Why a token was refused (Verify wraps one of these).
var (
	ErrGripMissing   = errors.New("missing Grip-Sig")
	ErrGripMalformed = errors.New("malformed Grip-Sig")
	ErrGripAlg       = errors.New("Grip-Sig algorithm not accepted")
	ErrGripSignature = errors.New("bad Grip-Sig signature")
	ErrGripExpired   = errors.New("Grip-Sig expired or not yet valid")
	ErrGripIssuer    = errors.New("Grip-Sig issuer not accepted")
)

// maxGripToken bounds a token (Pushpin's are ~150 bytes with HS256, ~190
// with ES256).
const maxGripToken = 8 << 10

// NewGripVerifier makes a verifier from key, written as Pushpin's sig_key
// is for a secret: "base64:" and the standard base64 of a binary secret,
// or the secret itself (HS256); or the PEM text of a public key ("-----BEGIN
// PUBLIC KEY-----", PKIX): EC P-256 for ES256, RSA (2048 bits or more) for
// RS256. iss, if not empty, is the only issuer accepted (Pushpin's
// sig_iss; its default is "pushpin").
func NewGripVerifier(key, iss string) (*GripVerifier, error) {
	v := &GripVerifier{iss: iss}
	switch {
	case strings.HasPrefix(strings.TrimSpace(key), "-----BEGIN"):
		block, _ := pem.Decode([]byte(strings.TrimSpace(key)))
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, errors.New("grip key: want a PEM \"PUBLIC KEY\" block (PKIX)")
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("grip key: %w", err)
		}
		switch k := pub.(type) {
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				return nil, errors.New("grip key: an EC key must be on P-256 (ES256)")
			}
			v.alg, v.ec = "ES256", k
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return nil, errors.New("grip key: an RSA key must have 2048 bits or more")
			}
			v.alg, v.rsa = "RS256", k
		default:
			return nil, fmt.Errorf("grip key: a %T is not supported (EC P-256 or RSA)", pub)
		}
	case strings.HasPrefix(key, "base64:"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key[len("base64:"):]))
		if err != nil {
			return nil, fmt.Errorf("grip key: %w", err)
		}
		v.alg, v.secret = "HS256", b
	default:
		v.alg, v.secret = "HS256", []byte(key)
	}
	if v.alg == "HS256" && len(v.secret) == 0 {
		return nil, errors.New("grip key: empty secret")
	}
	return v, nil
}

// Alg is the algorithm the verifier accepts.
func (v *GripVerifier) Alg() string { return v.alg }

// Verify checks a Grip-Sig token at now; nil if the proxy signed it.
func (v *GripVerifier) Verify(token string, now time.Time) error {
	if token == "" {
		return ErrGripMissing
	}
	if len(token) > maxGripToken {
		return ErrGripMalformed
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	c64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return ErrGripMalformed
	}
	hdrJSON, err1 := base64.RawURLEncoding.DecodeString(h64)
	claimsJSON, err2 := base64.RawURLEncoding.DecodeString(c64)
	sig, err3 := base64.RawURLEncoding.DecodeString(s64)
	if err1 != nil || err2 != nil || err3 != nil {
		return ErrGripMalformed
	}
	var hdr struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if json.Unmarshal(hdrJSON, &hdr) != nil || hdr.Alg == nil {
		return ErrGripMalformed
	}
	if *hdr.Alg != v.alg {
		return fmt.Errorf("%w: %q (want %s)", ErrGripAlg, *hdr.Alg, v.alg)
	}
	if (hdr.Typ != nil && !strings.EqualFold(*hdr.Typ, "JWT")) || hdr.Crit != nil {
		return ErrGripMalformed // extensions this verifier does not know
	}
	if !v.signed(token[:len(h64)+1+len(c64)], sig) {
		return ErrGripSignature
	}
	var claims struct {
		Iss *string      `json:"iss"`
		Exp *json.Number `json:"exp"`
		Nbf *json.Number `json:"nbf"`
	}
	dec := json.NewDecoder(bytes.NewReader(claimsJSON))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return ErrGripMalformed
	}
	if claims.Exp == nil {
		return fmt.Errorf("%w: no exp", ErrGripExpired)
	}
	exp, err := claims.Exp.Float64()
	secs := float64(now.Unix())
	if err != nil || exp <= 0 || secs >= exp {
		return ErrGripExpired
	}
	if claims.Nbf != nil {
		nbf, err := claims.Nbf.Float64()
		if err != nil || secs < nbf {
			return ErrGripExpired
		}
	}
	if v.iss != "" && (claims.Iss == nil || *claims.Iss != v.iss) {
		return ErrGripIssuer
	}
	return nil
}

// signed checks sig over the signing input (header.claims).
func (v *GripVerifier) signed(input string, sig []byte) bool {
	switch v.alg {
	case "HS256":
		m := hmac.New(sha256.New, v.secret)
		m.Write([]byte(input))
		return hmac.Equal(m.Sum(nil), sig)
	case "ES256":
		if len(sig) != 64 { // JWS: R and S, 32 bytes each (RFC 7518 3.4)
			return false
		}
		sum := sha256.Sum256([]byte(input))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(v.ec, sum[:], r, s)
	case "RS256":
		sum := sha256.Sum256([]byte(input))
		return rsa.VerifyPKCS1v15(v.rsa, crypto.SHA256, sum[:], sig) == nil
	}
	return false
}

// refuse answers a request of the proxy whose Grip-Sig does not verify
// (403); nil when it does, when no verifier is configured, and for a
// tick (the platform's own call).
func (o *Options) refuse(now int64, req Request) *Response {
	if o.Grip == nil || req.Tick {
		return nil
	}
	err := o.Grip.Verify(req.Header["Grip-Sig"], time.Unix(0, now))
	if err == nil {
		return nil
	}
	return &Response{Status: 403, Header: map[string]string{"Content-Type": "text/plain"},
		Body: []byte("forbidden: " + err.Error() + "\n")}
}

// Refuse is the answer to a request whose Grip-Sig does not verify with
// opts.Grip, nil if it may be served: a platform that loads state per
// request calls it first, so that a refused request costs no load.
// Handler.Serve checks it too.
func Refuse(opts Options, now int64, req Request) *Response {
	return opts.refuse(now, req)
}
