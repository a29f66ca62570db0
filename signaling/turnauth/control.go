package turnauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/confab-media/confab/signaling/meeting"
)

// ControlHandler answers the TurnControlUrl of SDKs 3.0–3.19 (fact sheet
// §5): POST with X-Chime-Auth-Token "_aws_wt_session=<join token>" and body
// {"meetingId"} → {username, password, ttl, uris}; 403 for a bad token or
// another meeting, 404 for an ended meeting or no relay. s may be nil
// (TURN switched off).
func ControlHandler(m Meetings, s *Service) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		tok, ok := strings.CutPrefix(req.Header.Get("X-Chime-Auth-Token"), "_aws_wt_session=")
		if !ok || tok == "" {
			controlError(w, http.StatusForbidden, "missing X-Chime-Auth-Token _aws_wt_session=<join token>")
			return
		}
		var body struct {
			MeetingID string `json:"meetingId"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&body); err != nil {
			controlError(w, http.StatusBadRequest, "body must be JSON {\"meetingId\": ...}")
			return
		}
		id, err := m.Verify(tok)
		switch {
		case errors.Is(err, meeting.ErrMeetingEnded):
			controlError(w, http.StatusNotFound, "meeting ended")
			return
		case err != nil:
			controlError(w, http.StatusForbidden, "join token refused")
			return
		case body.MeetingID != "" && body.MeetingID != id.MeetingID:
			controlError(w, http.StatusForbidden, "join token is for another meeting")
			return
		}
		if s == nil {
			controlError(w, http.StatusNotFound, "TURN is not enabled")
			return
		}
		c, ok := s.mint(id)
		if !ok {
			controlError(w, http.StatusNotFound, "TURN is not enabled")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"username": c.Username, "password": c.Password, "ttl": int(c.TTL / time.Second), "uris": c.URIs,
		})
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
