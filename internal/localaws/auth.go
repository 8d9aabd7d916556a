package localaws

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are the one key pair the local endpoint accepts.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// Sign signs req with c for a local AWS endpoint (SigV4, as an SDK client does), as the
// Guard checks it: a client outside the SDK (invoke --local reading serve's description).
func Sign(ctx context.Context, req *http.Request, c Credentials, body []byte) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "peerbridge", "us-east-1", time.Now())
}

// NewCredentials draws a random key pair, shaped like AWS's (20 and 40 characters).
func NewCredentials() Credentials {
	b := make([]byte, 28)
	rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	return Credentials{AccessKeyID: "PBLOCAL" + h[:13], SecretAccessKey: hex.EncodeToString(b[:20])}
}

// maxSkew is how far a request's X-Amz-Date may be from now, as AWS allows.
const maxSkew = 15 * time.Minute

// Guard lets through to Next only the requests that a web page cannot make: addressed to
// one of Hosts (the listener's own address, so a DNS-rebound name is refused) and signed
// with AWS Signature Version 4 under Creds. Everything else is refused before its body
// is read.
type Guard struct {
	Creds Credentials
	Hosts []string // accepted Host headers, e.g. 127.0.0.1:3002 and localhost:3002
	Next  http.Handler
	Now   func() time.Time // default time.Now
}

// LoopbackHosts is the Host headers a client of a loopback listener may send.
func LoopbackHosts(addr net.Addr) []string {
	_, port, _ := net.SplitHostPort(addr.String())
	return []string{addr.String(), "localhost:" + port, "[::1]:" + port, "127.0.0.1:" + port}
}

// CheckLoopback refuses an address that is not loopback (before anything listens on it).
func CheckLoopback(flag, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s %q: this endpoint listens on a loopback address only (e.g. 127.0.0.1:%s)", flag, addr, addr[strings.LastIndexByte(addr, ':')+1:])
	}
	return nil
}

func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(g.Hosts, strings.ToLower(r.Host)) {
		writeError(w, http.StatusForbidden, "AccessDeniedException",
			fmt.Sprintf("Host %q is not this endpoint's address (%s)", r.Host, g.Hosts[0]))
		return
	}
	if host, _, _ := net.SplitHostPort(r.RemoteAddr); !isLoopback(host) {
		writeError(w, http.StatusForbidden, "AccessDeniedException", "this endpoint answers loopback only")
		return
	}
	auth, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		writeError(w, http.StatusForbidden, "MissingAuthenticationTokenException",
			"requests must be signed (SigV4) with the credentials in serve's admin file ("+err.Error()+")")
		return
	}
	if subtle.ConstantTimeCompare([]byte(auth.accessKeyID), []byte(g.Creds.AccessKeyID)) != 1 {
		writeError(w, http.StatusForbidden, "UnrecognizedClientException", "the security token included in the request is invalid")
		return
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	if err != nil || signedAt.Sub(now()).Abs() > maxSkew {
		writeError(w, http.StatusForbidden, "InvalidSignatureException", "X-Amz-Date missing, unreadable or more than 15 minutes from now")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > maxRequestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("the request is over %d bytes", maxRequestBytes))
		return
	}
	want, err := g.signature(r, auth, body, signedAt)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(auth.signature)) != 1 {
		writeError(w, http.StatusForbidden, "InvalidSignatureException",
			"the request signature we calculated does not match the signature you provided")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	g.Next.ServeHTTP(w, r)
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		if h == "" {
			return a, fmt.Errorf("no Authorization header")
		}
		return a, fmt.Errorf("not an AWS4-HMAC-SHA256 Authorization header")
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, fmt.Errorf("malformed Credential")
			}
			a.accessKeyID, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || a.signature == "" || !slices.Contains(a.signedHeaders, "host") || !slices.Contains(a.signedHeaders, "x-amz-date") {
		return a, fmt.Errorf("the Authorization header lacks Credential, Signature, or host and x-amz-date among SignedHeaders")
	}
	return a, nil
}

// signature signs again, with the SDK's signer, a copy of r holding only the headers the
// client said it signed, and returns the signature that copy gets.
func (g *Guard) signature(r *http.Request, a authorization, body []byte, signedAt time.Time) (string, error) {
	if signedAt.Format("20060102") != a.date {
		return "", fmt.Errorf("credential date is not the request's date")
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	c, err := http.NewRequest(r.Method, u.String(), nil)
	if err != nil {
		return "", err
	}
	c.Host = r.Host
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		default:
			c.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: g.Creds.AccessKeyID, SecretAccessKey: g.Creds.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), a.service, a.region, signedAt); err != nil {
		return "", err
	}
	got, err := parseAuthorization(c.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if !slices.Equal(got.signedHeaders, a.signedHeaders) {
		return "", fmt.Errorf("signed headers differ")
	}
	return got.signature, nil
}
