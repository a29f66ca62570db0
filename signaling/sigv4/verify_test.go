package sigv4

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws/credentials"
	awsv4 "github.com/aws/aws-sdk-go/aws/signer/v4"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAKID2  = "AKIDOTHER"
	testRegion = "us-east-1"
)

var testTime = time.Date(2024, 5, 6, 12, 34, 56, 0, time.UTC)

var testKeys = map[string]string{
	testAKID:  testSecret,
	testAKID2: "another/secret+value",
}

func testLookup(id string) (string, bool) {
	s, ok := testKeys[id]
	return s, ok
}

func newTestVerifier(now time.Time) *Verifier {
	return NewVerifier(VerifierConfig{Service: "chime"}, VerifierParams{
		Lookup: testLookup,
		Now:    func() time.Time { return now },
	})
}

// sdkSign signs a client request with the real AWS SDK v1 signer.
func sdkSign(t testing.TB, req *http.Request, body []byte, akid, secret, region, service string, at time.Time) {
	t.Helper()
	s := awsv4.NewSigner(credentials.NewStaticCredentials(akid, secret, ""))
	var rs io.ReadSeeker
	if body != nil {
		rs = bytes.NewReader(body)
	}
	if _, err := s.Sign(req, rs, service, region, at); err != nil {
		t.Fatalf("aws signer: %v", err)
	}
}

// toServer turns a client request into the request a Go HTTP server would
// hand to its handler (wire round trip through Request.Write/ReadRequest).
func toServer(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return sr, body
}

type signCase struct {
	name    string
	method  string
	target  string // path and query, appended to the server URL
	body    []byte
	region  string
	headers http.Header
}

func nextTokenQuery() string {
	q := url.Values{}
	q.Set("next-token", "ab+cd/ef==gh+/=")
	q.Set("max-results", "10")
	return q.Encode()
}

var signCases = []signCase{
	{name: "GET list with next-token", method: "GET", target: "/meetings?" + nextTokenQuery(), region: testRegion},
	{name: "GET attendees with next-token", method: "GET",
		target: "/meetings/5b9f2a0e-0c2a-4f5b-9d1e-2f0f6f6a1b2c/attendees?max-results=5&next-token=a%2Bb%2Fc%3D%3D",
		region: "eu-central-1"},
	{name: "POST create meeting", method: "POST", target: "/meetings",
		body:    []byte(`{"ClientRequestToken":"tok-1","ExternalMeetingId":"ext 1","MediaRegion":"us-east-1"}`),
		region:  testRegion,
		headers: http.Header{"Content-Type": {"application/json"}}},
	{name: "POST batch-create attendees", method: "POST",
		target:  "/meetings/5b9f2a0e-0c2a-4f5b-9d1e-2f0f6f6a1b2c/attendees?operation=batch-create",
		body:    []byte(`{"Attendees":[{"ExternalUserId":"u1"},{"ExternalUserId":"u2"}]}`),
		region:  testRegion,
		headers: http.Header{"Content-Type": {"application/json"}}},
	{name: "PUT capabilities", method: "PUT",
		target:  "/meetings/m-1/attendees/a-1/capabilities",
		body:    []byte(`{"Capabilities":{"Audio":"SendReceive","Video":"None","Content":"Receive"}}`),
		region:  testRegion,
		headers: http.Header{"Content-Type": {"application/json"}}},
	{name: "DELETE empty body", method: "DELETE", target: "/meetings/m-1/attendees/a-1", region: testRegion},
	{name: "percent-escaped path", method: "GET", target: "/meetings/ab%2Fcd%20ef/attendees/%E2%9C%93~x", region: testRegion},
	{name: "empty region (Go SDK v2 style)", method: "GET", target: "/meetings/m-1", region: ""},
	{name: "signed content-length (JS SDK v3 style)", method: "POST", target: "/meetings",
		body:    []byte(`{"ClientRequestToken":"tok-2"}`),
		region:  testRegion,
		headers: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"30"}}},
	{name: "multi-valued header with spaces", method: "GET", target: "/meetings/m-1", region: testRegion,
		headers: http.Header{"X-Custom": {"  a   b  ", "c"}}},
}

// verifyServer runs a real HTTP server whose handler calls Verify.
func verifyServer(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := v.Verify(r, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func doRequest(t *testing.T, req *http.Request) Result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("do: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return res
}

func newClientRequest(t *testing.T, base string, c signCase) *http.Request {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	return req
}

func TestVerifyAWSSDKSignedOverHTTP(t *testing.T) {
	srv := verifyServer(t, newTestVerifier(testTime))
	for _, c := range signCases {
		t.Run(c.name, func(t *testing.T) {
			req := newClientRequest(t, srv.URL, c)
			sdkSign(t, req, c.body, testAKID, testSecret, c.region, "chime", testTime)
			res := doRequest(t, req)
			want := Result{AccessKeyID: testAKID, Region: c.region, Service: "chime"}
			if res != want {
				t.Fatalf("result = %+v, want %+v", res, want)
			}
		})
	}
}

func TestVerifyOwnSignOverHTTP(t *testing.T) {
	srv := verifyServer(t, newTestVerifier(testTime))
	extra := []signCase{
		{name: "key without value and odd query", method: "GET",
			target: "/meetings?flag&b=2&a=%7e+x&a=%2A&=v&&z", region: testRegion},
	}
	for _, c := range append(append([]signCase(nil), signCases...), extra...) {
		t.Run(c.name, func(t *testing.T) {
			req := newClientRequest(t, srv.URL, c)
			req.Header.Del("Content-Length") // Sign does not sign it; the transport ignores it anyway
			if err := Sign(req, c.body, Credentials{testAKID2, testKeys[testAKID2]}, c.region, "chime", testTime); err != nil {
				t.Fatal(err)
			}
			res := doRequest(t, req)
			want := Result{AccessKeyID: testAKID2, Region: c.region, Service: "chime"}
			if res != want {
				t.Fatalf("result = %+v, want %+v", res, want)
			}
		})
	}
}

// TestSignAWSExample checks Sign against the worked example in the AWS
// documentation (IAM ListUsers, 2015-08-30).
func TestSignAWSExample(t *testing.T) {
	req := httptest.NewRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	req.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	req.Host = ""
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	if err := Sign(req, nil, Credentials{"AKIDEXAMPLE", testSecret}, "us-east-1", "iam", now); err != nil {
		t.Fatal(err)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
		"SignedHeaders=content-type;host;x-amz-date, " +
		"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	if got := req.Header.Get("Authorization"); got != want {
		t.Fatalf("Authorization =\n%s\nwant\n%s", got, want)
	}
	if req.Host != "iam.amazonaws.com" || req.Header.Get("X-Amz-Date") != "20150830T123600Z" {
		t.Fatalf("host %q, date %q", req.Host, req.Header.Get("X-Amz-Date"))
	}
	// Re-signing replaces the previous Authorization header.
	if err := Sign(req, nil, Credentials{"AKIDEXAMPLE", testSecret}, "us-east-1", "iam", now); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Values("Authorization"); len(got) != 1 || got[0] != want {
		t.Fatalf("after re-sign Authorization = %q", got)
	}
}

// signedServerRequest returns a server-side form of an SDK-signed POST.
func signedServerRequest(t testing.TB, at time.Time) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"ClientRequestToken":"tok-1","ExternalMeetingId":"ext-1","MediaRegion":"us-east-1","NotificationsConfiguration":{}}`)
	req, err := http.NewRequest("POST", "https://meetings-chime.us-east-1.amazonaws.com/meetings/m-1/attendees?operation=batch-create&next-token=a%2Bb", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sdkSign(t, req, body, testAKID, testSecret, testRegion, "chime", at)
	return toServer(t, req)
}

var hex64 = regexp.MustCompile(`[0-9a-fA-F]{64}`)

func TestVerifyRejects(t *testing.T) {
	type mutate func(t *testing.T, r *http.Request, body []byte) (*http.Request, []byte)
	setAuth := func(v string) mutate {
		return func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Set("Authorization", v)
			return r, b
		}
	}
	editAuth := func(old, new string) mutate {
		return func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			a := r.Header.Get("Authorization")
			if !strings.Contains(a, old) {
				t.Fatalf("%q not in %q", old, a)
			}
			r.Header.Set("Authorization", strings.Replace(a, old, new, 1))
			return r, b
		}
	}
	resign := func(akid, secret, region, service string, at time.Time) mutate {
		return func(t *testing.T, _ *http.Request, _ []byte) (*http.Request, []byte) {
			body := []byte(`{"x":1}`)
			req := httptest.NewRequest("POST", "https://meetings-chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
			req.Host, req.RequestURI = "", ""
			sdkSign(t, req, body, akid, secret, region, service, at)
			return toServer(t, req)
		}
	}
	cases := []struct {
		name string
		mut  mutate
		want error
	}{
		{"no Authorization header", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Del("Authorization")
			return r, b
		}, ErrMissingAuth},
		{"presigned query only", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Del("Authorization")
			r.URL.RawQuery += "&X-Amz-Signature=abcd"
			return r, b
		}, ErrMissingAuth},
		{"garbage header", setAuth("garbage"), ErrMalformedAuth},
		{"other scheme", setAuth("Bearer abc"), ErrMalformedAuth},
		{"missing signature", setAuth("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240506/us-east-1/chime/aws4_request, SignedHeaders=host"), ErrMalformedAuth},
		{"short signature", editAuth("Signature=", "Signature=00"), ErrMalformedAuth},
		{"bad credential terminator", editAuth("aws4_request", "aws5_request"), ErrMalformedAuth},
		{"host not signed", editAuth("SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date"), ErrMalformedAuth},
		{"two Authorization headers", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r, b
		}, ErrMalformedAuth},
		{"missing X-Amz-Date", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Del("X-Amz-Date")
			return r, b
		}, ErrMalformedAuth},
		{"bad X-Amz-Date", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Set("X-Amz-Date", "2024-05-06T12:34:56Z")
			return r, b
		}, ErrMalformedAuth},
		{"X-Amz-Date with fractional seconds", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Set("X-Amz-Date", "20240506T123456.5Z")
			return r, b
		}, ErrMalformedAuth},
		{"credential date differs from X-Amz-Date day", editAuth("/20240506/", "/20240505/"), ErrMalformedAuth},
		{"bad query escape", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.URL.RawQuery += "&x=%zz"
			return r, b
		}, ErrMalformedAuth},
		{"unknown key", resign("AKIDNOBODY", testSecret, testRegion, "chime", testTime), ErrUnknownKey},
		{"wrong secret", resign(testAKID, "not-the-secret", testRegion, "chime", testTime), ErrSignatureMismatch},
		{"wrong service", resign(testAKID, testSecret, testRegion, "s3", testTime), ErrWrongService},
		{"date skew +16m", resign(testAKID, testSecret, testRegion, "chime", testTime.Add(16*time.Minute)), ErrRequestExpired},
		{"date skew -16m", resign(testAKID, testSecret, testRegion, "chime", testTime.Add(-16*time.Minute)), ErrRequestExpired},
		{"tampered body", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			return r, bytes.Replace(b, []byte("tok-1"), []byte("tok-2"), 1)
		}, ErrSignatureMismatch},
		{"tampered query value", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "a%2Bb", "a%2Bc", 1)
			return r, b
		}, ErrSignatureMismatch},
		{"added query parameter", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.URL.RawQuery += "&max-results=1"
			return r, b
		}, ErrSignatureMismatch},
		{"tampered path", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.URL.Path = "/meetings/m-2/attendees"
			return r, b
		}, ErrSignatureMismatch},
		{"tampered method", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Method = "PUT"
			return r, b
		}, ErrSignatureMismatch},
		{"tampered signed header", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Set("Content-Type", "text/plain")
			return r, b
		}, ErrSignatureMismatch},
		{"tampered host", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Host = "evil.example.com"
			return r, b
		}, ErrSignatureMismatch},
		{"tampered X-Amz-Date within skew", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			r.Header.Set("X-Amz-Date", "20240506T123500Z")
			return r, b
		}, ErrSignatureMismatch},
		{"tampered region", editAuth("/us-east-1/", "/us-west-2/"), ErrSignatureMismatch},
		{"flipped signature", func(t *testing.T, r *http.Request, b []byte) (*http.Request, []byte) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
			return r, b
		}, ErrSignatureMismatch},
	}
	sentinels := []error{ErrMissingAuth, ErrMalformedAuth, ErrUnknownKey, ErrSignatureMismatch, ErrRequestExpired, ErrWrongService}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestVerifier(testTime)
			r, body := signedServerRequest(t, testTime)
			if _, err := v.Verify(r, body); err != nil {
				t.Fatalf("unmodified request rejected: %v", err)
			}
			r, body = c.mut(t, r, body)
			res, err := v.Verify(r, body)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			for _, s := range sentinels {
				if s != c.want && errors.Is(err, s) {
					t.Errorf("err %v also matches %v", err, s)
				}
			}
			if res != (Result{}) {
				t.Errorf("result %+v on failure", res)
			}
			if hex64.MatchString(err.Error()) {
				t.Errorf("error message contains a signature-like value: %v", err)
			}
		})
	}
}

func TestVerifySkewBoundary(t *testing.T) {
	r, body := signedServerRequest(t, testTime)
	for _, d := range []time.Duration{-15 * time.Minute, -14 * time.Minute, 0, 14 * time.Minute, 15 * time.Minute} {
		if _, err := newTestVerifier(testTime.Add(d)).Verify(r, body); err != nil {
			t.Errorf("skew %v: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-16 * time.Minute, 15*time.Minute + time.Second} {
		if _, err := newTestVerifier(testTime.Add(d)).Verify(r, body); !errors.Is(err, ErrRequestExpired) {
			t.Errorf("skew %v: err = %v", d, err)
		}
	}
	v := NewVerifier(VerifierConfig{MaxSkew: time.Minute}, VerifierParams{Lookup: testLookup, Now: func() time.Time { return testTime.Add(2 * time.Minute) }})
	if _, err := v.Verify(r, body); !errors.Is(err, ErrRequestExpired) {
		t.Errorf("custom MaxSkew: err = %v", err)
	}
}

// TestVerifyServerContentLengthFallback covers a request built in-process
// (no Content-Length header, only r.ContentLength) with content-length signed.
func TestVerifyServerContentLengthFallback(t *testing.T) {
	body := []byte(`{"a":1}`)
	req := httptest.NewRequest("POST", "http://example.com/meetings", bytes.NewReader(body))
	req.Header.Set("Content-Length", "7")
	sdkSign(t, req, body, testAKID, testSecret, testRegion, "chime", testTime)
	if !strings.Contains(req.Header.Get("Authorization"), "content-length") {
		t.Fatal("content-length not signed")
	}
	req.Header.Del("Content-Length")
	if _, err := newTestVerifier(testTime).Verify(req, body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	secret := "old-secret"
	var mu sync.Mutex
	v := NewVerifier(VerifierConfig{}, VerifierParams{
		Lookup: func(id string) (string, bool) { mu.Lock(); defer mu.Unlock(); return secret, id == "AKIDROT" },
		Now:    func() time.Time { return testTime },
	})
	signed := func(s string) (*http.Request, []byte) {
		req := httptest.NewRequest("GET", "http://example.com/meetings", nil)
		if err := Sign(req, nil, Credentials{"AKIDROT", s}, testRegion, "chime", testTime); err != nil {
			t.Fatal(err)
		}
		return req, nil
	}
	r, b := signed("old-secret")
	if _, err := v.Verify(r, b); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(r, b); err != nil { // cached key
		t.Fatal(err)
	}
	mu.Lock()
	secret = "new-secret"
	mu.Unlock()
	if _, err := v.Verify(r, b); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("old signature after rotation: err = %v", err)
	}
	r, b = signed("new-secret")
	if _, err := v.Verify(r, b); err != nil {
		t.Fatal(err)
	}
}

func TestVerifierCacheBounded(t *testing.T) {
	v := newTestVerifier(testTime)
	for i := 0; i < keyCacheSize+50; i++ {
		req := httptest.NewRequest("GET", "http://example.com/meetings", nil)
		if err := Sign(req, nil, Credentials{testAKID, testSecret}, fmt.Sprintf("region-%d", i), "chime", testTime); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(req, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.keys.len(); n != keyCacheSize {
		t.Fatalf("cache size %d, want %d", n, keyCacheSize)
	}
	// Failed verifications do not populate the cache.
	v = newTestVerifier(testTime)
	req := httptest.NewRequest("GET", "http://example.com/meetings", nil)
	if err := Sign(req, nil, Credentials{testAKID, "wrong"}, testRegion, "chime", testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(req, nil); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatal(err)
	}
	if n := v.keys.len(); n != 0 {
		t.Fatalf("cache size after failure %d", n)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := newTestVerifier(testTime)
	r, body := signedServerRequest(t, testTime)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				req := r
				if i%3 == 0 {
					req = httptest.NewRequest("GET", "http://example.com/meetings", nil)
					if err := Sign(req, nil, Credentials{testAKID2, testKeys[testAKID2]}, fmt.Sprintf("r%d", i%7), "chime", testTime); err != nil {
						t.Error(err)
						return
					}
					if _, err := v.Verify(req, nil); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				if _, err := v.Verify(req, body); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSignRejectsBadInput(t *testing.T) {
	req := httptest.NewRequest("GET", "http://example.com/meetings?x=%zz", nil)
	if err := Sign(req, nil, Credentials{testAKID, testSecret}, testRegion, "chime", testTime); err == nil {
		t.Error("bad query escape: no error")
	}
	req = httptest.NewRequest("GET", "http://example.com/meetings", nil)
	if err := Sign(req, nil, Credentials{"", testSecret}, testRegion, "chime", testTime); err == nil {
		t.Error("empty access key: no error")
	}
	if err := Sign(req, nil, Credentials{testAKID, testSecret}, "us/east", "chime", testTime); err == nil {
		t.Error("region with '/': no error")
	}
}

func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(testTime)
	r, body := signedServerRequest(b, testTime)
	if _, err := v.Verify(r, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v := newTestVerifier(testTime)
	r, body := signedServerRequest(b, testTime)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(r, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
