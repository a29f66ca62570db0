package meeting

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/confab-media/confab/internal/fakeclock"
	"github.com/confab-media/confab/signaling/events"
	"github.com/confab-media/confab/signaling/store"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// recorder collects published events.
type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Publish(_ context.Context, e events.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

func (r *recorder) types() []events.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []events.Type
	for _, e := range r.evs {
		ts = append(ts, e.Detail.EventType)
	}
	return ts
}

type fixture struct {
	svc   *Service
	clock *fakeclock.Clock
	ev    *recorder
	st    store.Store
}

func testConfig() Config {
	return Config{
		AccountID: "123456789012", Regions: []string{"us-east-1", "eu-west-1"},
		AttendeesPerMeeting: 250, HighResolutionAttendees: 25,
		MaxDuration: 24 * time.Hour, IdleTimeout: 5 * time.Minute, SweepInterval: 10 * time.Second,
	}
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newFixture(t *testing.T, cfg Config, st store.Store, maxMeetings int) *fixture {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1:8080")
	f := &fixture{clock: fakeclock.New(t0), ev: &recorder{}, st: st}
	svc, err := New(context.Background(), cfg, Params{
		Store:    st,
		Placer:   NewLocalPlacer(MediaGroup{ID: "local", PublicURL: u}, maxMeetings),
		Events:   f.ev,
		Clock:    f.clock,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		TokenKey: testKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	t.Cleanup(svc.Close)
	return f
}

func (f *fixture) meeting(t *testing.T, token string, feat *MeetingFeatures) Meeting {
	t.Helper()
	m, err := f.svc.CreateMeeting(context.Background(), &CreateMeetingInput{
		ClientRequestToken: token, MediaRegion: "us-east-1", ExternalMeetingId: "ext-" + token, MeetingFeatures: feat,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) attendee(t *testing.T, meetingID, user string) Attendee {
	t.Helper()
	a, err := f.svc.CreateAttendee(context.Background(), meetingID, &CreateAttendeeInput{ExternalUserId: user})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func TestJoinTokens(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	m := f.meeting(t, "tok-1", nil)
	a := f.attendee(t, m.MeetingId, "user-1")

	// Unpadded base64url: a valid RFC 7230 token, ≥ 128 bits of secret.
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(a.JoinToken) || len(a.JoinToken) < 2 || len(a.JoinToken) > 2048 {
		t.Fatalf("token %q is not unpadded base64url of a legal length", a.JoinToken)
	}
	id, err := f.svc.Verify(a.JoinToken)
	if err != nil {
		t.Fatal(err)
	}
	if id.MeetingID != m.MeetingId || id.AttendeeID != a.AttendeeId || id.ExternalUserID != "user-1" || id.Content {
		t.Fatalf("identity = %+v", id)
	}
	cid, err := f.svc.Verify(a.JoinToken + "#content")
	if err != nil {
		t.Fatal(err)
	}
	if cid.AttendeeID != a.AttendeeId+"#content" || cid.ExternalUserID != "user-1#content" || !cid.Content {
		t.Fatalf("content identity = %+v", cid)
	}
	// Same attendee, same token (GetAttendee and a retried CreateAttendee).
	again := f.attendee(t, m.MeetingId, "user-1")
	if again.AttendeeId != a.AttendeeId || again.JoinToken != a.JoinToken {
		t.Fatalf("retry made a new attendee: %+v vs %+v", again, a)
	}

	// Every single-character change is refused.
	for i := range a.JoinToken {
		b := []byte(a.JoinToken)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := f.svc.Verify(string(b)); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("tampered at %d: err = %v", i, err)
		}
	}
	for _, bad := range []string{"", "#content", "x", a.JoinToken + "=", a.JoinToken[:len(a.JoinToken)-1], a.JoinToken + "#contents"} {
		if _, err := f.svc.Verify(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrTokenInvalid", bad, err)
		}
	}
	// A token minted under another key does not verify.
	other := tokenCodec{key: []byte("another key, another deployment!")}
	rec := f.svc.meetings[m.MeetingId].attendees[a.AttendeeId]
	if _, err := f.svc.Verify(other.mint(m.MeetingId, a.AttendeeId, rec.TokenNonce)); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("foreign key: %v", err)
	}

	// Deleting the attendee revokes the token; ending the meeting ends the rest.
	b := f.attendee(t, m.MeetingId, "user-2")
	if err := f.svc.DeleteAttendee(context.Background(), m.MeetingId, a.AttendeeId); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(a.JoinToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("deleted attendee: %v", err)
	}
	if err := f.svc.DeleteMeeting(context.Background(), m.MeetingId); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Verify(b.JoinToken); !errors.Is(err, ErrMeetingEnded) {
		t.Fatalf("ended meeting: %v", err)
	}
}

func TestIdempotentCreateUnderConcurrency(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	var wg sync.WaitGroup
	ids := make([]string, 32)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := f.svc.CreateMeeting(context.Background(), &CreateMeetingInput{
				ClientRequestToken: "same-token", MediaRegion: "us-east-1", ExternalMeetingId: "ext-1",
			})
			if err != nil {
				t.Error(err)
			}
			ids[i] = m.MeetingId
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("two meetings for one token: %s and %s", ids[0], id)
		}
	}
	if n := f.svc.ActiveMeetings(); n != 1 {
		t.Fatalf("%d meetings live", n)
	}
	started := 0
	for _, ty := range f.ev.types() {
		if ty == events.MeetingStarted {
			started++
		}
	}
	if started != 1 {
		t.Fatalf("%d MeetingStarted events", started)
	}
	// Once the meeting has ended, the token creates a new meeting.
	if err := f.svc.DeleteMeeting(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if m := f.meeting(t, "same-token", nil); m.MeetingId == ids[0] {
		t.Fatal("ended meeting returned for its token")
	}
}

func TestQuotas(t *testing.T) {
	cfg := testConfig()
	cfg.AttendeesPerMeeting = 3
	f := newFixture(t, cfg, store.NewMemory(), 2)
	m := f.meeting(t, "q1", nil)
	for i := range 3 {
		f.attendee(t, m.MeetingId, "user-"+string(rune('a'+i)))
	}
	_, err := f.svc.CreateAttendee(context.Background(), m.MeetingId, &CreateAttendeeInput{ExternalUserId: "user-z"})
	wantKind(t, err, ErrLimitExceeded)

	two := 2
	m2 := f.meeting(t, "q2", &MeetingFeatures{Attendee: &AttendeeFeatures{MaxCount: &two}})
	f.attendee(t, m2.MeetingId, "u1")
	f.attendee(t, m2.MeetingId, "u2")
	_, err = f.svc.CreateAttendee(context.Background(), m2.MeetingId, &CreateAttendeeInput{ExternalUserId: "u3"})
	wantKind(t, err, ErrLimitExceeded)

	// Two active meetings per media group in this fixture.
	_, err = f.svc.CreateMeeting(context.Background(), &CreateMeetingInput{ClientRequestToken: "q3", MediaRegion: "us-east-1", ExternalMeetingId: "ext"})
	wantKind(t, err, ErrLimitExceeded)
	if err := f.svc.DeleteMeeting(context.Background(), m.MeetingId); err != nil {
		t.Fatal(err)
	}
	f.meeting(t, "q3", nil) // the slot is free again
}

type (
	AttendeeFeatures = store.AttendeeFeatures
	VideoFeatures    = store.VideoFeatures
	ContentFeatures  = store.ContentFeatures
)

func TestValidation(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	ok := func() *CreateMeetingInput {
		return &CreateMeetingInput{ClientRequestToken: "tok-ok", MediaRegion: "us-east-1", ExternalMeetingId: "ext-ok"}
	}
	n30, n0 := 30, 0
	cases := []struct {
		name  string
		edit  func(*CreateMeetingInput)
		field string
	}{
		{"missing token", func(in *CreateMeetingInput) { in.ClientRequestToken = "" }, "ClientRequestToken"},
		{"token chars", func(in *CreateMeetingInput) { in.ClientRequestToken = "bad token!" }, "ClientRequestToken"},
		{"missing region", func(in *CreateMeetingInput) { in.MediaRegion = "" }, "MediaRegion"},
		{"unknown region", func(in *CreateMeetingInput) { in.MediaRegion = "mars-north-1" }, "MediaRegion"},
		{"missing external id", func(in *CreateMeetingInput) { in.ExternalMeetingId = "" }, "ExternalMeetingId"},
		{"long external id", func(in *CreateMeetingInput) { in.ExternalMeetingId = strings.Repeat("x", 65) }, "ExternalMeetingId"},
		{"reserved external id", func(in *CreateMeetingInput) { in.ExternalMeetingId = "aws:x" }, "ExternalMeetingId"},
		{"host id short", func(in *CreateMeetingInput) { in.MeetingHostId = "h" }, "MeetingHostId"},
		{"external id NUL", func(in *CreateMeetingInput) { in.ExternalMeetingId = "ext\x00id" }, "ExternalMeetingId"},
		{"external id CRLF", func(in *CreateMeetingInput) { in.ExternalMeetingId = "ext\r\nSet-Cookie: x" }, "ExternalMeetingId"},
		{"external id bad UTF-8", func(in *CreateMeetingInput) { in.ExternalMeetingId = "ext\xff\xfe" }, "ExternalMeetingId"},
		{"external id symbol", func(in *CreateMeetingInput) { in.ExternalMeetingId = "ext<script>" }, "ExternalMeetingId"},
		{"host id LF", func(in *CreateMeetingInput) { in.MeetingHostId = "host\nid" }, "MeetingHostId"},
		{"host id reserved", func(in *CreateMeetingInput) { in.MeetingHostId = "AWS:host" }, "MeetingHostId"},
		{"token NUL", func(in *CreateMeetingInput) { in.ClientRequestToken = "tok\x00en" }, "ClientRequestToken"},
		{"tag key NUL", func(in *CreateMeetingInput) { in.Tags = []Tag{{Key: "k\x00", Value: "v"}} }, "Tags.Key"},
		{"tag value CRLF", func(in *CreateMeetingInput) { in.Tags = []Tag{{Key: "k", Value: "v\r\n"}} }, "Tags.Value"},
		{"tag value bad UTF-8", func(in *CreateMeetingInput) { in.Tags = []Tag{{Key: "k", Value: "\xc3"}} }, "Tags.Value"},
		{"tenant repeat", func(in *CreateMeetingInput) { in.TenantIds = []string{"abbbbc"} }, "TenantIds"},
		{"tenant empty list", func(in *CreateMeetingInput) { in.TenantIds = []string{} }, "TenantIds"},
		{"tenant too many", func(in *CreateMeetingInput) { in.TenantIds = []string{"aa", "ab", "ac", "ad", "ae", "af"} }, "TenantIds"},
		{"tag reserved", func(in *CreateMeetingInput) { in.Tags = []Tag{{Key: "aws:x", Value: "v"}} }, "Tags.Key"},
		{"arn", func(in *CreateMeetingInput) {
			in.NotificationsConfiguration = &NotificationsConfiguration{SqsQueueArn: "arn:aws:sqs:us-east-1:1:q q"}
		}, "NotificationsConfiguration.SqsQueueArn"},
		{"network type", func(in *CreateMeetingInput) { in.MediaPlacementNetworkType = "Ipv6Only" }, "MediaPlacementNetworkType"},
		{"primary unknown", func(in *CreateMeetingInput) { in.PrimaryMeetingId = "00000000-0000-0000-0000-000000000000" }, "PrimaryMeetingId"},
		{"fhd needs max count", func(in *CreateMeetingInput) {
			in.MeetingFeatures = &MeetingFeatures{Video: &VideoFeatures{MaxResolution: "FHD"}}
		}, "MeetingFeatures.Attendee.MaxCount"},
		{"uhd max count over 25", func(in *CreateMeetingInput) {
			in.MeetingFeatures = &MeetingFeatures{Content: &ContentFeatures{MaxResolution: "UHD"}, Attendee: &AttendeeFeatures{MaxCount: &n30}}
		}, "MeetingFeatures.Attendee.MaxCount"},
		{"max count zero", func(in *CreateMeetingInput) {
			in.MeetingFeatures = &MeetingFeatures{Attendee: &AttendeeFeatures{MaxCount: &n0}}
		}, "MeetingFeatures.Attendee.MaxCount"},
		{"video enum", func(in *CreateMeetingInput) {
			in.MeetingFeatures = &MeetingFeatures{Video: &VideoFeatures{MaxResolution: "UHD"}}
		}, "MeetingFeatures.Video.MaxResolution"},
		{"attendees on plain create", func(in *CreateMeetingInput) { in.Attendees = []CreateAttendeeInput{{ExternalUserId: "u1"}} }, "Attendees"},
	}
	for _, c := range cases {
		in := ok()
		c.edit(in)
		_, err := f.svc.CreateMeeting(context.Background(), in)
		wantKind(t, err, ErrInvalid)
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: message %q does not name %s", c.name, err, c.field)
		}
	}
	if _, err := f.svc.CreateMeeting(context.Background(), ok()); err != nil {
		t.Fatal(err)
	}
}

// TestValidationAttendeeStrings checks ExternalUserId against the Chime
// pattern: NUL, CR/LF, invalid UTF-8 and characters outside the class are
// refused naming the field; the class itself (accents, brackets, quotes,
// spaces) is accepted.
func TestValidationAttendeeStrings(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	m := f.meeting(t, "strings", nil)
	for _, bad := range []string{"u\x00ser", "user\r\n", "us\ner", "\xff\xfeuser", "user<1>", "user;1", "aws:user", "u", strings.Repeat("u", 65)} {
		_, err := f.svc.CreateAttendee(context.Background(), m.MeetingId, &CreateAttendeeInput{ExternalUserId: bad})
		wantKind(t, err, ErrInvalid)
		if !strings.Contains(err.Error(), "ExternalUserId") {
			t.Errorf("%q: message %q does not name ExternalUserId", bad, err)
		}
		_, errs, err := f.svc.BatchCreateAttendee(context.Background(), m.MeetingId, []CreateAttendeeInput{{ExternalUserId: bad}})
		if err != nil || len(errs) != 1 || errs[0].ErrorCode != "BadRequest" {
			t.Errorf("batch %q: errs %+v, err %v", bad, errs, err)
		}
	}
	for _, good := range []string{"user-1", "Zoë Brontë", "a@b.c", `x[1]{2}(3) «q» 'a' "b" #1 |/:=+,&_`, "tab\tok"} {
		if _, err := f.svc.CreateAttendee(context.Background(), m.MeetingId, &CreateAttendeeInput{ExternalUserId: good}); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	err := f.svc.UntagResource(context.Background(), "arn:aws:chime:us-east-1:123456789012:meeting/"+m.MeetingId, []string{"k\x00"})
	wantKind(t, err, ErrInvalid)
}

func TestCapabilityRules(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	m := f.meeting(t, "caps", nil)
	noVideo := f.meeting(t, "novideo", &MeetingFeatures{Video: &VideoFeatures{MaxResolution: "None"}})
	caps := func(a, v, c string) *Capabilities { return &Capabilities{Audio: a, Video: v, Content: c} }
	cases := []struct {
		meeting string
		caps    *Capabilities
		ok      bool
	}{
		{m.MeetingId, caps("SendReceive", "Send", "None"), true},
		{m.MeetingId, caps("None", "Receive", "Receive"), true},
		{m.MeetingId, caps("SendReceive", "Send", "Receive"), false},     // content receive needs video receive
		{m.MeetingId, caps("SendReceive", "None", "SendReceive"), false}, // likewise
		{m.MeetingId, caps("SendReceive", "SendReceive", "Sometimes"), false},
		{m.MeetingId, caps("", "SendReceive", "None"), false},
		{noVideo.MeetingId, caps("SendReceive", "Receive", "None"), false}, // MaxResolution None
		{noVideo.MeetingId, caps("SendReceive", "None", "None"), true},
	}
	for i, c := range cases {
		_, err := f.svc.CreateAttendee(context.Background(), c.meeting, &CreateAttendeeInput{ExternalUserId: "user-" + string(rune('a'+i)), Capabilities: c.caps})
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d %+v: err = %v", i, c.caps, err)
		}
	}
	// The default for a no-video meeting is audio only.
	a := f.attendee(t, noVideo.MeetingId, "default-user")
	if a.Capabilities != *caps("SendReceive", "None", "None") {
		t.Fatalf("default caps = %+v", a.Capabilities)
	}

	// Updates: one attendee, then all but one, each with its event.
	x, y := f.attendee(t, m.MeetingId, "x-user"), f.attendee(t, m.MeetingId, "y-user")
	got, err := f.svc.UpdateAttendeeCapabilities(context.Background(), m.MeetingId, x.AttendeeId, caps("Receive", "Receive", "None"))
	if err != nil || got.Capabilities.Audio != "Receive" {
		t.Fatalf("update: %+v %v", got, err)
	}
	if err := f.svc.BatchUpdateAttendeeCapabilitiesExcept(context.Background(), m.MeetingId, []string{x.AttendeeId}, caps("None", "None", "None")); err != nil {
		t.Fatal(err)
	}
	gx, _ := f.svc.GetAttendee(context.Background(), m.MeetingId, x.AttendeeId)
	gy, _ := f.svc.GetAttendee(context.Background(), m.MeetingId, y.AttendeeId)
	if gx.Capabilities.Audio != "Receive" || gy.Capabilities.Audio != "None" {
		t.Fatalf("batch update: x=%+v y=%+v", gx.Capabilities, gy.Capabilities)
	}
	var last events.Event
	f.ev.mu.Lock()
	for _, e := range f.ev.evs {
		if e.Detail.EventType == events.AttendeeCapabilitiesUpdated && e.Detail.AttendeeID == y.AttendeeId {
			last = e
		}
	}
	f.ev.mu.Unlock()
	if last.Detail.Success != "1" || last.Detail.AttendeeCapabilities == nil || last.Detail.AttendeeCapabilities.Audio != "None" {
		t.Fatalf("capabilities event = %+v", last.Detail)
	}
}

func TestListAttendeesPages(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	m := f.meeting(t, "list", nil)
	var order []string
	for i := range 25 {
		if i%3 == 0 {
			f.clock.Advance(time.Millisecond) // some share a timestamp, some do not
		}
		order = append(order, f.attendee(t, m.MeetingId, "user-"+string(rune('A'+i))).AttendeeId)
	}
	got := map[string]bool{}
	var listed []string
	token, pages := "", 0
	for {
		as, next, err := f.svc.ListAttendees(context.Background(), m.MeetingId, token, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range as {
			if got[a.AttendeeId] {
				t.Fatalf("attendee %s listed twice", a.AttendeeId)
			}
			got[a.AttendeeId] = true
			listed = append(listed, a.AttendeeId)
		}
		if next == "" {
			break
		}
		token = next
	}
	if pages != 3 || len(got) != 25 {
		t.Fatalf("pages=%d listed=%d", pages, len(got))
	}
	if strings.Join(listed, ",") != strings.Join(order, ",") {
		t.Fatal("attendees not listed in creation order")
	}
	_, _, err := f.svc.ListAttendees(context.Background(), m.MeetingId, "garbage", 10)
	wantKind(t, err, ErrInvalid)
}

func TestTags(t *testing.T) {
	f := newFixture(t, testConfig(), store.NewMemory(), 250)
	m := f.meeting(t, "tags", nil)
	arn := m.MeetingArn
	if arn != "arn:aws:chime:us-east-1:123456789012:meeting/"+m.MeetingId {
		t.Fatalf("arn = %s", arn)
	}
	ctx := context.Background()
	if err := f.svc.TagResource(ctx, arn, []Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TagResource(ctx, arn, []Tag{{Key: "a", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UntagResource(ctx, arn, []string{"b", "absent"}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.svc.ListTagsForResource(ctx, arn)
	if err != nil || len(tags) != 1 || tags[0] != (Tag{Key: "a", Value: "3"}) {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	many := make([]Tag, 50)
	for i := range many {
		many[i] = Tag{Key: "k" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Value: "v"}
	}
	wantKind(t, f.svc.TagResource(ctx, arn, many), ErrTooManyTags)
	_, err = f.svc.ListTagsForResource(ctx, strings.Replace(arn, m.MeetingId, "00000000-0000-0000-0000-000000000000", 1))
	wantKind(t, err, ErrResourceGone)
	_, err = f.svc.ListTagsForResource(ctx, "not-an-arn")
	wantKind(t, err, ErrInvalid)
}

// TestLifecycleVirtualTime runs the real lifecycle loop on a virtual clock.
func TestLifecycleVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, testConfig(), store.NewMemory(), 250)
		f.svc.Start()
		ctx := context.Background()
		never := f.meeting(t, "never-joined", nil)
		joined := f.meeting(t, "joined", nil)
		a := f.attendee(t, joined.MeetingId, "user-1")
		f.svc.SetConnected(joined.MeetingId, a.AttendeeId, true)

		step := func(d time.Duration) { f.clock.Advance(d); synctest.Wait() }
		alive := func(id string) bool { _, err := f.svc.GetMeeting(ctx, id); return err == nil }

		step(4*time.Minute + 50*time.Second)
		if !alive(never.MeetingId) {
			t.Fatal("never-joined meeting ended before 5 minutes")
		}
		step(10 * time.Second)
		if alive(never.MeetingId) {
			t.Fatal("never-joined meeting still alive after 5 minutes")
		}
		if !alive(joined.MeetingId) {
			t.Fatal("meeting with a connected attendee ended")
		}
		step(2 * time.Hour)
		f.svc.SetConnected(joined.MeetingId, a.AttendeeId, false)
		step(4 * time.Minute)
		if !alive(joined.MeetingId) {
			t.Fatal("ended less than 5 minutes after the last attendee left")
		}
		step(time.Minute + 10*time.Second)
		if alive(joined.MeetingId) {
			t.Fatal("still alive 5 minutes after the last attendee left")
		}

		// 24 hours end a meeting even with someone connected.
		long := f.meeting(t, "long", nil)
		b := f.attendee(t, long.MeetingId, "user-2")
		f.svc.SetConnected(long.MeetingId, b.AttendeeId, true)
		step(23*time.Hour + 59*time.Minute)
		if !alive(long.MeetingId) {
			t.Fatal("ended before 24 h")
		}
		step(2 * time.Minute)
		if alive(long.MeetingId) {
			t.Fatal("alive after 24 h")
		}
		ended := 0
		for _, ty := range f.ev.types() {
			if ty == events.MeetingEnded {
				ended++
			}
		}
		if ended != 3 {
			t.Fatalf("%d MeetingEnded events, want 3", ended)
		}
		f.svc.Close()
	})
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.OpenBolt(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, testConfig(), st, 250)
	m := f.meeting(t, "persist", nil)
	a := f.attendee(t, m.MeetingId, "user-1")
	gone := f.attendee(t, m.MeetingId, "user-2")
	ctx := context.Background()
	if err := f.svc.DeleteAttendee(ctx, m.MeetingId, gone.AttendeeId); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TagResource(ctx, m.MeetingArn, []Tag{{Key: "team", Value: "blue"}}); err != nil {
		t.Fatal(err)
	}
	f.svc.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := store.OpenBolt(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	g := newFixture(t, testConfig(), st2, 250)
	got, err := g.svc.GetMeeting(ctx, m.MeetingId)
	if err != nil || got.MeetingArn != m.MeetingArn || got.MediaPlacement.SignalingUrl != m.MediaPlacement.SignalingUrl {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if id, err := g.svc.Verify(a.JoinToken); err != nil || id.AttendeeID != a.AttendeeId {
		t.Fatalf("token after restart: %+v %v", id, err)
	}
	if _, err := g.svc.Verify(gone.JoinToken); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("deleted attendee after restart: %v", err)
	}
	if again := g.meeting(t, "persist", nil); again.MeetingId != m.MeetingId {
		t.Fatal("idempotency token forgotten across restart")
	}
	tags, _ := g.svc.ListTagsForResource(ctx, m.MeetingArn)
	if len(tags) != 1 || tags[0].Value != "blue" {
		t.Fatalf("tags after restart: %v", tags)
	}
}
