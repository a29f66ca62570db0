package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/confab-media/confab/signaling/api"
)

// HeaderForwarded marks a request one node forwarded to another; it is
// never forwarded again (no loops). It carries the forwarding node's id.
// A client that sets it only gets its request handled where it landed,
// still authenticated by its own SigV4 signature.
const HeaderForwarded = "X-Confab-Forwarded-By"

// maxBody bounds what the router reads of a body to route it (the API's
// own limit; a larger body is left to the local handler to refuse).
const maxBody = 1 << 20

// forwardTimeout bounds a forwarded API call.
const forwardTimeout = 30 * time.Second

// Router is the HTTP front of a node in cluster mode: it hands each
// Meetings API request to the node that must answer it. Requests that
// concern no meeting, and requests about meetings this node hosts, go to
// local.
type Router struct {
	c     *Cluster
	local http.Handler

	transport http.RoundTripper
	mu        sync.Mutex // guards proxies
	proxies   map[string]*httputil.ReverseProxy
}

// Router returns the front for local, the node's own API handler.
func (c *Cluster) Router(local http.Handler) *Router {
	return &Router{c: c, local: local, proxies: map[string]*httputil.ReverseProxy{},
		transport: &http.Transport{
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: forwardTimeout,
		}}
}

// ServeHTTP routes one request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(HeaderForwarded) != "" {
		rt.serveLocal(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), heartbeatTimeout)
	defer cancel()
	target, counted, ok := rt.target(ctx, w, r)
	if !ok {
		return // answered
	}
	if counted {
		// The create's placement is in flight until answered; by then the
		// host has published its new meeting count (serveLocal).
		defer rt.c.Placed(context.WithoutCancel(ctx), target)
	}
	if target == "" || target == rt.c.Self() {
		rt.serveLocal(w, r)
		return
	}
	n, live, err := rt.c.Node(ctx, target)
	if err != nil {
		api.WriteServiceUnavailable(w, "The cluster state is unavailable")
		return
	}
	if !live {
		rt.c.m.forwards.WithLabelValues("dead").Inc()
		api.WriteServiceUnavailable(w, "The node hosting this meeting is unavailable")
		return
	}
	rt.c.m.forwards.WithLabelValues(n.ID).Inc()
	rt.proxy(n).ServeHTTP(w, r)
}

// serveLocal answers r on this node. A create is followed by a heartbeat
// before the answer leaves (the handler's small response is still
// buffered), so placement on any node counts the new meeting at once.
func (rt *Router) serveLocal(w http.ResponseWriter, r *http.Request) {
	create := isCreate(r)
	rt.local.ServeHTTP(w, r)
	if create {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), heartbeatTimeout)
		defer cancel()
		if err := rt.c.beat(ctx); err != nil {
			rt.c.p.Log.Debug("cluster: heartbeat after a create", "err", err)
		}
	}
}

// isCreate reports whether r is CreateMeeting or CreateMeetingWithAttendees.
func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Trim(r.URL.Path, "/") == "meetings"
}

// target names the node that must answer r ("" or self: this one) and
// whether a placement was counted for it. It answers r itself (ok false)
// when the cluster cannot place it.
func (rt *Router) target(ctx context.Context, w http.ResponseWriter, r *http.Request) (target string, counted, ok bool) {
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case isCreate(r):
		return rt.placeCreate(ctx, w, r)
	case len(seg) >= 2 && seg[0] == "meetings" && seg[1] != "":
		target, ok := rt.hostOf(ctx, w, seg[1])
		return target, false, ok
	case len(seg) == 1 && seg[0] == "tags":
		arn := r.URL.Query().Get("arn")
		if arn == "" {
			var body struct{ ResourceARN string }
			if !peekJSON(r, &body) {
				return "", false, true
			}
			arn = body.ResourceARN
		}
		id, ok := meetingOfARN(arn)
		if !ok {
			return "", false, true
		}
		target, ok := rt.hostOf(ctx, w, id)
		return target, false, ok
	}
	return "", false, true
}

// placeCreate places a CreateMeeting (or CreateMeetingWithAttendees).
func (rt *Router) placeCreate(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, bool, bool) {
	var body struct {
		MediaRegion        string
		ClientRequestToken string
	}
	if !peekJSON(r, &body) || body.MediaRegion == "" {
		return "", false, true // malformed: the local handler says why
	}
	n, counted, err := rt.c.place(ctx, body.MediaRegion, body.ClientRequestToken)
	switch {
	case errors.Is(err, ErrNoNode):
		api.WriteServiceUnavailable(w, "No media group serves "+body.MediaRegion+" now")
		return "", false, false
	case err != nil:
		rt.c.p.Log.Warn("cluster: placement failed", "err", err)
		api.WriteServiceUnavailable(w, "The cluster state is unavailable")
		return "", false, false
	}
	return n.ID, counted, true
}

// hostOf returns the node hosting meetingID ("" when no record exists: the
// local handler answers NotFound).
func (rt *Router) hostOf(ctx context.Context, w http.ResponseWriter, meetingID string) (string, bool) {
	if rt.c.p.Meetings.Hosts(meetingID) {
		return rt.c.Self(), true // ours: no round trip to Redis
	}
	rec, ok, err := rt.c.p.Store.GetMeeting(ctx, strings.ToLower(meetingID))
	if err != nil {
		api.WriteServiceUnavailable(w, "The cluster state is unavailable")
		return "", false
	}
	if !ok {
		return "", true
	}
	return rec.MediaGroup, true
}

// peekJSON decodes r's body into v and puts the body back for whoever
// handles r. It reports false for a body that is not JSON (or too large).
func peekJSON(r *http.Request, v any) bool {
	if r.Body == nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil || len(b) > maxBody {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// meetingOfARN extracts the meeting id of arn:aws:chime:<region>:<account>:meeting/<id>.
func meetingOfARN(arn string) (string, bool) {
	i := strings.LastIndex(arn, ":meeting/")
	if !strings.HasPrefix(arn, "arn:") || i < 0 {
		return "", false
	}
	id := arn[i+len(":meeting/"):]
	return id, id != "" && !strings.Contains(id, "/")
}

// proxy returns the reverse proxy to n. The request goes as it came: same
// method, path, query, Host header and body, so its SigV4 signature still
// verifies on n.
func (rt *Router) proxy(n Node) *httputil.ReverseProxy {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if p := rt.proxies[n.ID+" "+n.URL]; p != nil {
		return p
	}
	u, _ := url.Parse(n.URL)
	self := rt.c.Self()
	p := &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			r.URL.Scheme = u.Scheme
			r.URL.Host = u.Host
			r.Header.Set(HeaderForwarded, self)
		},
		Transport: rt.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rt.c.p.Log.Warn("cluster: forward failed", "node", n.ID, "err", err)
			api.WriteServiceUnavailable(w, "The node hosting this meeting is unavailable")
		},
	}
	rt.proxies[n.ID+" "+n.URL] = p
	return p
}
