// Package demo serves Confab's meeting web app: a page at / where a person
// enters a meeting name and their name, and joins with the stock
// amazon-chime-sdk-js (audio with device selection and mute, camera tiles,
// content share, a roster with speaking indicators, data-message chat).
//
// The server does the part a self-hoster's backend would do: POST
// /demo/join creates the meeting (or finds it while it is live: its
// ClientRequestToken is derived from the name) and an attendee through the
// meeting service, and answers the Meeting and Attendee objects the SDK's
// MeetingSessionConfiguration takes. Everything after that is the SDK
// speaking to Confab's signaling and media as it would to Chime.
//
// The page's script is the SDK bundled by esbuild (demo/web, `make demo`)
// into dist/app.js and embedded; a binary built without it serves a page
// that says how to build it.
//
// Exposure: joining creates meetings, so the app is meant for loopback or
// behind a passcode (Config.Passcode, compared in constant time). Joins are
// rate-limited per client IP; bodies are capped; names are checked by the
// meeting service's Chime patterns.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/confab-media/confab/signaling/meeting"
)

//go:embed static dist
var files embed.FS

// maxJoinBody caps a join request's body.
const maxJoinBody = 4 << 10

// Meetings is what the app needs of the meeting service.
type Meetings interface {
	CreateMeeting(ctx context.Context, in *meeting.CreateMeetingInput) (meeting.Meeting, error)
	CreateAttendee(ctx context.Context, meetingID string, in *meeting.CreateAttendeeInput) (meeting.Attendee, error)
}

// Config is the app's settings.
type Config struct {
	// Passcode, when set, must accompany every join.
	Passcode string
	// Region is the MediaRegion of the meetings it creates.
	Region string
	// JoinsPerSecond and JoinBurst bound joins per client IP (defaults 1
	// and 10).
	JoinsPerSecond float64
	JoinBurst      int
}

// Params are the app's dependencies.
type Params struct {
	Meetings Meetings
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default: time.Now
}

// Handler serves the app: GET /, GET /demo/{app.js,style.css,config} and
// POST /demo/join.
type Handler struct {
	cfg    Config
	p      Params
	limits *ipLimiter
	mux    *http.ServeMux
	script []byte // dist/app.js; nil when not built
}

// New returns the app's handler.
func New(cfg Config, p Params) *Handler {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if cfg.JoinsPerSecond <= 0 {
		cfg.JoinsPerSecond = 1
	}
	if cfg.JoinBurst <= 0 {
		cfg.JoinBurst = 10
	}
	h := &Handler{cfg: cfg, p: p, limits: newIPLimiter(cfg.JoinsPerSecond, cfg.JoinBurst, maxTrackedIPs)}
	h.script, _ = fs.ReadFile(files, "dist/app.js")
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.static("static/index.html", "text/html; charset=utf-8"))
	h.mux.HandleFunc("GET /demo/style.css", h.static("static/style.css", "text/css; charset=utf-8"))
	h.mux.HandleFunc("GET /demo/app.js", h.serveScript)
	h.mux.HandleFunc("GET /demo/config", h.serveConfig)
	h.mux.HandleFunc("POST /demo/join", h.join)
	return h
}

// Built reports whether the binary carries the app's script.
func (h *Handler) Built() bool { return h.script != nil }

// Register mounts the app's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range []string{"GET /{$}", "GET /demo/", "POST /demo/join"} {
		mux.Handle(p, h)
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) static(name, contentType string) http.HandlerFunc {
	body, err := fs.ReadFile(files, name)
	if err != nil {
		panic("demo: embedded " + name + " missing") // a build error, not input
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

func (h *Handler) serveScript(w http.ResponseWriter, _ *http.Request) {
	if h.script == nil {
		http.Error(w, "the meeting app was not built into this binary: run make build", http.StatusNotFound)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(h.script)
}

// securityHeaders keeps the page to its own origin: its script, style and
// the server's API and WebSocket, plus media from the devices.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; "+
		"img-src 'self' data: blob:; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

func (h *Handler) serveConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"passcode": h.cfg.Passcode != ""})
}

// joinRequest is POST /demo/join's body.
type joinRequest struct {
	Meeting  string `json:"meeting"`
	Name     string `json:"name"`
	Passcode string `json:"passcode"`
}

// joinResponse carries what MeetingSessionConfiguration takes.
type joinResponse struct {
	Meeting  meeting.Meeting
	Attendee meeting.Attendee
}

func (h *Handler) join(w http.ResponseWriter, r *http.Request) {
	if !h.limits.allow(clientIP(r), h.p.Now()) {
		writeError(w, http.StatusTooManyRequests, "too many joins from your address; wait a few seconds")
		return
	}
	var req joinRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJoinBody))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "the body must be JSON {meeting, name, passcode}")
		return
	}
	if h.cfg.Passcode != "" && subtle.ConstantTimeCompare([]byte(req.Passcode), []byte(h.cfg.Passcode)) != 1 {
		writeError(w, http.StatusForbidden, "wrong passcode")
		return
	}
	name, meetingName := strings.TrimSpace(req.Name), strings.TrimSpace(req.Meeting)
	switch {
	case meetingName == "" || utf8.RuneCountInString(meetingName) > 64 || !utf8.ValidString(meetingName):
		writeError(w, http.StatusBadRequest, "the meeting name must be 1–64 characters")
		return
	case name == "" || utf8.RuneCountInString(name) > 48 || !utf8.ValidString(name):
		writeError(w, http.StatusBadRequest, "your name must be 1–48 characters")
		return
	}
	ctx := r.Context()
	m, err := h.p.Meetings.CreateMeeting(ctx, &meeting.CreateMeetingInput{
		ClientRequestToken: requestToken(meetingName),
		MediaRegion:        h.cfg.Region,
		ExternalMeetingId:  externalMeetingID(meetingName),
	})
	if err != nil {
		h.fail(w, "create meeting", err)
		return
	}
	// The suffix keeps two people of the same name apart (CreateAttendee
	// with an ExternalUserId already present returns that attendee).
	a, err := h.p.Meetings.CreateAttendee(ctx, m.MeetingId, &meeting.CreateAttendeeInput{ExternalUserId: name + "#" + randomSuffix()})
	if err != nil {
		h.fail(w, "create attendee", err)
		return
	}
	h.p.Log.Info("demo: joined", "meeting", m.MeetingId, "attendee", a.AttendeeId)
	writeJSON(w, http.StatusOK, joinResponse{Meeting: m, Attendee: a})
}

// fail answers a meeting-service error: bad input and limits in the
// caller's words, anything else as a server error.
func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	var me *meeting.Error
	switch {
	case errors.Is(err, meeting.ErrInvalid) && errors.As(err, &me):
		writeError(w, http.StatusBadRequest, me.Msg)
	case errors.Is(err, meeting.ErrLimitExceeded):
		writeError(w, http.StatusServiceUnavailable, "this server has no room for another meeting or attendee right now")
	default:
		h.p.Log.Warn("demo: "+what, "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not "+what)
	}
}

// requestToken is the meeting name's ClientRequestToken: the same name
// finds the same live meeting. (Hex fits Chime's [-_a-zA-Z0-9] pattern.)
func requestToken(name string) string {
	sum := sha256.Sum256([]byte("confab-demo:" + strings.ToLower(name)))
	return "demo-" + hex.EncodeToString(sum[:16])
}

// externalMeetingID is the name when it is 2–64 letters, digits, spaces
// and -_.: (well inside Chime's ExternalMeetingId pattern), so operators
// recognise the meeting in ListMeetings; "demo" otherwise.
func externalMeetingID(name string) string {
	if n := utf8.RuneCountInString(name); n < 2 || n > 64 {
		return "demo"
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.:", r) {
			return "demo"
		}
	}
	return name
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
