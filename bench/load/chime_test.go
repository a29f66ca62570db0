package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/sigv4"
)

// TestChimeClientSignsAndRetries: the v2-signed requests verify with the
// server's own SigV4 verifier; 429 and 5xx answers are retried, 4xx come
// back as typed errors; answers decode.
func TestChimeClientSignsAndRetries(t *testing.T) {
	v := sigv4.NewVerifier(sigv4.VerifierConfig{}, sigv4.VerifierParams{
		Lookup: func(id string) (string, bool) { return "bench-secret-0123456789", id == "AKIDBENCH" },
	})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		switch n := calls.Add(1); {
		case r.Method == http.MethodPost && r.URL.Path == "/meetings" && n == 1:
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"Code":"ThrottlingException","Message":"slow down"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/meetings":
			_, _ = io.WriteString(w, `{"Meeting":{"MeetingId":"m-1","MediaPlacement":{"SignalingUrl":"ws://x/control/m-1"}}}`)
		case r.URL.Path == "/meetings/m-1/attendees" && r.URL.Query().Get("operation") == "batch-create":
			var in struct {
				Attendees []struct{ ExternalUserId string }
			}
			_ = json.Unmarshal(body, &in)
			out := `{"Attendees":[`
			for i := len(in.Attendees) - 1; i >= 0; i-- { // answered in another order
				u := in.Attendees[i].ExternalUserId
				out += fmt.Sprintf(`{"AttendeeId":"a-%s","ExternalUserId":%q,"JoinToken":"tok-%s"}`, u, u, u)
				if i > 0 {
					out += ","
				}
			}
			_, _ = io.WriteString(w, out+`],"Errors":[]}`)
		default:
			w.Header().Set("X-Amzn-ErrorType", "NotFoundException:http://internal")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Code":"NotFoundException","Message":"no such meeting"}`)
		}
	}))
	defer srv.Close()
	c := newChimeClient(&Target{URL: srv.URL, Region: "us-east-1", AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-secret-0123456789"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.createMeeting(ctx, "tok-1", "ext")
	if err != nil || m.MeetingId != "m-1" || m.MediaPlacement.SignalingUrl != "ws://x/control/m-1" || calls.Load() != 2 {
		t.Fatalf("createMeeting = %+v, %v after %d calls", m, err, calls.Load())
	}
	users := make([]string, 150) // two batches
	for i := range users {
		users[i] = fmt.Sprint("u", i)
	}
	as, err := c.createAttendees(ctx, "m-1", users)
	if err != nil || len(as) != 150 || as[0].JoinToken != "tok-u0" || as[149].JoinToken != "tok-u149" {
		t.Fatalf("createAttendees = %d attendees, %v", len(as), err)
	}
	before := calls.Load()
	err = c.deleteMeeting(ctx, "gone")
	var ce *chimeError
	if !errors.As(err, &ce) || ce.Code != "NotFoundException" || ce.Status != 404 || calls.Load() != before+1 {
		t.Fatalf("deleteMeeting: %v (calls %d → %d: a 404 is not retried)", err, before, calls.Load())
	}
}
