// Package janus drives a Janus WebRTC server (janus-gateway) the way the
// bench drives Confab, so that one scenario runs against both: a synthetic
// peer joins an AudioBridge room through Janus's HTTP API
// (https://janus.conf.meetecho.com/docs/rest.html: create a session,
// attach janus.plugin.audiobridge, "join" with a JSEP offer, the answer
// arrives as an event on the session's long poll), then sends Opus tone
// bursts and decodes the mix it gets back, recording tone onsets, as
// bench/attendee does with Confab.
//
// Each session has one long-poll goroutine (which also keeps the session
// alive); a [Peer] adds one audio sender and one receiver. Close waits for
// all of them.
package janus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Session is one Janus session with one plugin handle.
type Session struct {
	base   string // e.g. http://127.0.0.1:8088/janus
	http   *http.Client
	id     uint64
	handle uint64

	mu     sync.Mutex
	events []event
	wake   chan struct{} // capacity 1: an event arrived

	stop chan struct{}
	done chan struct{}
}

// event is one asynchronous message from Janus.
type event struct {
	Janus       string          `json:"janus"`
	Transaction string          `json:"transaction"`
	Sender      uint64          `json:"sender"`
	PluginData  json.RawMessage `json:"plugindata"`
	JSEP        *JSEP           `json:"jsep"`
}

// JSEP is an SDP offer or answer as Janus carries it. RIDOrder tells Janus
// the order of an offer's simulcast rids: "lmh" for low to high (Janus
// assumes "hml", highest first, without it).
type JSEP struct {
	Type     string `json:"type"`
	SDP      string `json:"sdp"`
	RIDOrder string `json:"rid_order,omitempty"`
}

// apiError is an error answer of the Janus API.
type apiError struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func (e *apiError) Error() string { return fmt.Sprintf("janus: error %d: %s", e.Code, e.Reason) }

// pluginError is an error a plugin answered (its error_code and error).
type pluginError struct {
	Code   int
	Reason string
}

func (e *pluginError) Error() string {
	return fmt.Sprintf("janus: plugin error %d: %s", e.Code, e.Reason)
}

// Open creates a session at base (Janus's HTTP API root, e.g.
// http://127.0.0.1:8088/janus) and attaches plugin.
func Open(ctx context.Context, base, plugin string) (*Session, error) {
	s := &Session{base: base, http: &http.Client{Timeout: 40 * time.Second}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	var created struct {
		Data struct{ ID uint64 } `json:"data"`
	}
	if err := s.post(ctx, base, map[string]any{"janus": "create"}, &created); err != nil {
		return nil, err
	}
	s.id = created.Data.ID
	var attached struct {
		Data struct{ ID uint64 } `json:"data"`
	}
	if err := s.post(ctx, s.sessionURL(), map[string]any{"janus": "attach", "plugin": plugin}, &attached); err != nil {
		_ = s.destroy()
		return nil, err
	}
	s.handle = attached.Data.ID
	go s.poll()
	return s, nil
}

func (s *Session) sessionURL() string { return fmt.Sprintf("%s/%d", s.base, s.id) }

// post sends one API request and decodes a "success" or "ack" answer.
func (s *Session) post(ctx context.Context, url string, body map[string]any, out any) error {
	body["transaction"] = transaction()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("janus: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var head struct {
		Janus string    `json:"janus"`
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("janus: %s: %w", url, err)
	}
	if head.Error != nil {
		return head.Error
	}
	if head.Janus != "success" && head.Janus != "ack" {
		return fmt.Errorf("janus: unexpected answer %q", head.Janus)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Request sends a synchronous plugin request (e.g. AudioBridge "create")
// and decodes the plugin's data into out.
func (s *Session) Request(ctx context.Context, body map[string]any, out any) error {
	var res struct {
		PluginData struct {
			Data json.RawMessage `json:"data"`
		} `json:"plugindata"`
	}
	if err := s.post(ctx, fmt.Sprintf("%s/%d", s.sessionURL(), s.handle), map[string]any{"janus": "message", "body": body}, &res); err != nil {
		return err
	}
	return pluginResult(res.PluginData.Data, out)
}

// pluginResult decodes a plugin's data, or its error.
func pluginResult(data json.RawMessage, out any) error {
	var e struct {
		ErrorCode int    `json:"error_code"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.ErrorCode != 0 {
		return &pluginError{Code: e.ErrorCode, Reason: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// Negotiate sends an asynchronous plugin request with a JSEP offer (e.g.
// AudioBridge "join") and waits for the event that carries the answer.
func (s *Session) Negotiate(ctx context.Context, body map[string]any, offer JSEP) (JSEP, error) {
	if err := s.Message(ctx, body, &offer); err != nil {
		return JSEP{}, err
	}
	_, answer, err := s.Await(ctx, func(_ json.RawMessage, jsep *JSEP) bool { return jsep != nil && jsep.Type == "answer" })
	if err != nil {
		return JSEP{}, err
	}
	return *answer, nil
}

// Message sends an asynchronous plugin request, with jsep unless nil;
// what the plugin makes of it arrives as an event (see Await).
func (s *Session) Message(ctx context.Context, body map[string]any, jsep *JSEP) error {
	msg := map[string]any{"janus": "message", "body": body}
	if jsep != nil {
		msg["jsep"] = jsep
	}
	return s.post(ctx, fmt.Sprintf("%s/%d", s.sessionURL(), s.handle), msg, nil)
}

// Await waits for the first event of the handle that match accepts (given
// the plugin's data and the event's JSEP, if any) and takes it; an event
// carrying a plugin error ends the wait with that error.
func (s *Session) Await(ctx context.Context, match func(data json.RawMessage, jsep *JSEP) bool) (json.RawMessage, *JSEP, error) {
	for {
		s.mu.Lock()
		for i, ev := range s.events {
			var d struct {
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(ev.PluginData, &d)
			if match(d.Data, ev.JSEP) {
				s.events = append(s.events[:i], s.events[i+1:]...)
				s.mu.Unlock()
				return d.Data, ev.JSEP, nil
			}
			if len(d.Data) > 0 {
				if err := pluginResult(d.Data, nil); err != nil {
					s.events = append(s.events[:i], s.events[i+1:]...)
					s.mu.Unlock()
					return nil, nil, err
				}
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("janus: no answer: %w", ctx.Err())
		case <-s.done:
			return nil, nil, errors.New("janus: session closed")
		case <-s.wake:
		}
	}
}

// maxEvents bounds the unclaimed events kept.
const maxEvents = 64

// poll long-polls the session's events until Close; a poll every 30 s
// at most also keeps the session alive (Janus drops it after 60 s).
func (s *Session) poll() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stop
		cancel()
	}()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.sessionURL()+"?maxev=10", nil)
		resp, err := s.http.Do(req)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var evs []event
		if json.Unmarshal(raw, &evs) != nil {
			var one event
			if json.Unmarshal(raw, &one) != nil {
				continue
			}
			evs = []event{one}
		}
		s.mu.Lock()
		for _, ev := range evs {
			if ev.Janus == "keepalive" {
				continue
			}
			if len(s.events) == maxEvents {
				s.events = s.events[1:]
			}
			s.events = append(s.events, ev)
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Close destroys the session and waits for its poller.
func (s *Session) Close() error {
	err := s.destroy()
	close(s.stop)
	<-s.done
	return err
}

func (s *Session) destroy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.post(ctx, s.sessionURL(), map[string]any{"janus": "destroy"}, nil)
}

func transaction() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
