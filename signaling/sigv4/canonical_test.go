package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go/private/protocol/rest"
)

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"flag", "flag="},
		{"flag&operation=batch-create", "flag=&operation=batch-create"},
		{"next-token=ab%2Bcd%2Fef%3D%3D", "next-token=ab%2Bcd%2Fef%3D%3D"},
		{"next-token=ab%2bcd%2fef%3d", "next-token=ab%2Bcd%2Fef%3D"},
		{"x=a+b", "x=a%20b"},
		{"x=a%20b", "x=a%20b"},
		{"x=%7e%41", "x=~A"},
		{"x=a*b!'()", "x=a%2Ab%21%27%28%29"},
		{"x=%E2%9C%93", "x=%E2%9C%93"},
		{"&&a=1&", "a=1"},
		{"=v", "=v"},
		{"a=x=y", "a=x%3Dy"},
		// Sorted by decoded bytes: "%2F" ('/') sorts after "." even though
		// its encoding sorts before.
		{"k=%2F&k=.", "k=.&k=%2F"},
	}
	for _, c := range cases {
		got, err := appendCanonicalQuery(nil, c.raw)
		if err != nil || string(got) != c.want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
	for _, bad := range []string{"x=%zz", "x=%4", "x=%", "%g0=1", "a=1;b=2"} {
		if _, err := appendCanonicalQuery(nil, bad); err == nil {
			t.Errorf("canonicalQuery(%q): no error", bad)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	cases := []struct{ escaped, want string }{
		{"", "/"},
		{"/", "/"},
		{"/meetings/m-1/attendees", "/meetings/m-1/attendees"},
		{"/meetings/a%2Fb%20c", "/meetings/a%252Fb%2520c"},
		{"/a~b_c.d-e", "/a~b_c.d-e"},
		{"/a:b@c,d;e=f+g", "/a%3Ab%40c%2Cd%3Be%3Df%2Bg"},
	}
	for _, c := range cases {
		got := string(appendCanonicalURI(nil, c.escaped))
		if got != c.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", c.escaped, got, c.want)
		}
		if c.escaped != "" {
			if sdk := rest.EscapePath(c.escaped, false); sdk != got {
				t.Errorf("canonicalURI(%q) = %q, AWS SDK gives %q", c.escaped, got, sdk)
			}
		}
	}
}

func TestCanonicalHeaders(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com:8080/", nil)
	r.Header = http.Header{
		"X-Amz-Date":   {"20240506T123456Z"},
		"X-Multi":      {"  a   b  ", "c\t", " d"},
		"Content-Type": {"application/json"},
		"x-lower":      {"raw"}, // non-canonical key, as a hand-built map may hold
	}
	r.ContentLength = 12
	got := string(appendCanonicalHeaders(nil, r, "content-length;content-type;host;x-absent;x-amz-date;x-lower;x-multi"))
	want := "content-length:12\ncontent-type:application/json\nhost:example.com:8080\nx-absent:\n" +
		"x-amz-date:20240506T123456Z\nx-lower:raw\nx-multi:a b,c,d\n"
	if got != want {
		t.Errorf("canonical headers =\n%q\nwant\n%q", got, want)
	}
}

func TestSignatureMatchesCryptoHMAC(t *testing.T) {
	r := httptest.NewRequest("POST", "http://example.com/meetings?a=1", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Date", "20240506T123456Z")
	key := deriveSigningKey(testSecret, "20240506", testRegion, "chime")
	ph := hexSHA256([]byte("{}"))
	scope := "20240506/us-east-1/chime/aws4_request"
	sig, _, err := signature(nil, r, "host;x-amz-date", ph[:], "20240506T123456Z", scope, &key)
	if err != nil {
		t.Fatal(err)
	}
	cr, _ := appendCanonicalRequest(nil, r, "host;x-amz-date", ph[:])
	crHash := sha256.Sum256(cr)
	sts := "AWS4-HMAC-SHA256\n20240506T123456Z\n" + scope + "\n" + string(hexOf(crHash[:]))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(sts))
	if !hmac.Equal(m.Sum(nil), sig[:]) {
		t.Fatal("hand-rolled HMAC differs from crypto/hmac")
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// FuzzCanonicalQuery checks the query canonicalisation against the AWS SDK's
// approach (url.ParseQuery, Values.Encode, '+' → %20).
func FuzzCanonicalQuery(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "next-token=ab%2Bcd%2Fef%3D%3D&max-results=10", "flag", "x=a+b&x=%2F&x=.", "=&&=", "a=%zz", "a;b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := appendCanonicalQuery(nil, raw)
		q, perr := url.ParseQuery(raw)
		if perr != nil {
			return // we may reject or accept; url.ParseQuery dropped something
		}
		if err != nil {
			t.Fatalf("canonicalQuery(%q) rejected a query url.ParseQuery accepts: %v", raw, err)
		}
		for _, vs := range q {
			slices.Sort(vs)
		}
		want := strings.ReplaceAll(q.Encode(), "+", "%20")
		if string(got) != want {
			t.Fatalf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	})
}
