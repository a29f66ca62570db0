package cluster

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPeekJSON: the router reads a body to route it and leaves it whole
// for the handler, also when it is not JSON or is larger than the API
// accepts (the handler then refuses it itself).
func TestPeekJSON(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"MediaRegion":"us-east-1","ClientRequestToken":"t"}`, true},
		{`not json`, false},
		{strings.Repeat("x", maxBody+10), false},
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://x/meetings", strings.NewReader(tt.body))
		var v struct{ MediaRegion string }
		if ok := peekJSON(r, &v); ok != tt.ok {
			t.Errorf("peekJSON(%.20q) = %v", tt.body, ok)
		}
		rest, _ := io.ReadAll(r.Body)
		if want := tt.body; len(want) > maxBody+1 {
			if len(rest) != maxBody+1 || string(rest) != want[:maxBody+1] {
				t.Errorf("oversized body left as %d bytes, want the first %d", len(rest), maxBody+1)
			}
		} else if string(rest) != want {
			t.Errorf("body left as %.40q, want %.40q", rest, want)
		}
	}
}

// FuzzRouteInput: whatever a client sends as a body or an ARN, the
// router's parsing neither panics nor loses the body.
func FuzzRouteInput(f *testing.F) {
	f.Add(`{"MediaRegion":"us-east-1","ClientRequestToken":"abc"}`, "arn:aws:chime:us-east-1:111122223333:meeting/x")
	f.Add(`{"ResourceARN":"arn:aws:chime:us-east-1:1:meeting/"}`, ":meeting/")
	f.Add("\x00\xff{", "arn:")
	f.Fuzz(func(t *testing.T, body, arn string) {
		r, _ := http.NewRequest(http.MethodPost, "http://x/tags", strings.NewReader(body))
		var v struct {
			MediaRegion        string
			ClientRequestToken string
			ResourceARN        string
		}
		peekJSON(r, &v)
		rest, _ := io.ReadAll(r.Body)
		if len(body) <= maxBody && string(rest) != body {
			t.Fatalf("body changed")
		}
		if id, ok := meetingOfARN(arn); ok && (id == "" || strings.Contains(id, "/")) {
			t.Fatalf("meetingOfARN(%q) = %q", arn, id)
		}
	})
}
