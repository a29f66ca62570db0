package attendee

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/confab-media/confab/signaling/protocol"
)

// Resubscribe renegotiates as the SDK does on a media change: a new full
// offer on the same PeerConnection in a SUBSCRIBE, and its answer
// applied. The SUBSCRIBE describes the current state: audio, the camera's
// layers if it sends, and the subscribed remote streams. It returns the
// SUBSCRIBE_ACK; an ack carrying an error is returned with an error.
func (a *Attendee) Resubscribe(ctx context.Context) (*protocol.SdkSubscribeAckFrame, error) {
	a.negMu.Lock()
	defer a.negMu.Unlock()
	return a.subscribeLocked(ctx)
}

// Subscribe re-SUBSCRIBEs to receive streamIDs (stream ids from INDEX),
// one recvonly video m-line each after the audio and camera lines, in
// order; lines no longer needed are offered inactive. receive_stream_ids
// is then [0 (the camera), streamIDs...]. Subscribe() with no ids stops
// receiving video. Each received track is mapped to its stream through
// the ack's tracks[] (see VideoStream).
func (a *Attendee) Subscribe(ctx context.Context, streamIDs ...uint32) (*protocol.SdkSubscribeAckFrame, error) {
	a.negMu.Lock()
	defer a.negMu.Unlock()
	a.vidMu.Lock()
	a.wanted = slices.Clone(streamIDs)
	a.vidMu.Unlock()
	return a.subscribeLocked(ctx)
}

// subscribeLocked sends one SUBSCRIBE of the current state and applies
// its answer. The caller holds negMu.
func (a *Attendee) subscribeLocked(ctx context.Context) (*protocol.SdkSubscribeAckFrame, error) {
	a.vidMu.Lock()
	wanted, cam, allocs := slices.Clone(a.wanted), a.cam, a.allocs
	a.vidMu.Unlock()
	lines, err := a.subscriptionLines(len(wanted))
	if err != nil {
		return nil, err
	}
	offer, err := a.offer(ctx, cam, len(wanted))
	if err != nil {
		return nil, err
	}
	// One receive_stream_ids entry per video m-line, as the SDK sends.
	ids := make([]uint32, 0, 1+len(lines))
	ids = append(ids, 0)
	mids := make([]string, len(lines))
	midStream := make(map[string]uint32, len(wanted))
	for i, tr := range lines {
		mids[i] = tr.Mid()
		var id uint32
		if i < len(wanted) {
			id = wanted[i]
			midStream[mids[i]] = id
		}
		ids = append(ids, id)
	}
	send := []*protocol.SdkStreamDescriptor{{
		StreamId: proto.Uint32(1), GroupId: proto.Uint32(1), TrackLabel: proto.String(audioTrackLabel),
		MediaType: protocol.SdkStreamMediaType_AUDIO.Enum(),
	}}
	if cam != nil {
		send = append(send, videoDescriptors(cam.profiles(), cam.cfg.fps(), allocs)...)
	}
	fr := protocol.NewFrame(protocol.SdkSignalFrame_SUBSCRIBE, time.Now())
	fr.Sub = &protocol.SdkSubscribeFrame{
		Duplex:           protocol.SdkStreamServiceType_DUPLEX.Enum(),
		SdpOffer:         &offer,
		AudioMuted:       proto.Bool(a.muted.Load()),
		ReceiveStreamIds: ids,
		SendStreams:      send,
	}
	if err := a.sig.Send(ctx, fr); err != nil {
		return nil, err
	}
	ackFr, err := a.sig.Next(ctx, protocol.SdkSignalFrame_SUBSCRIBE_ACK)
	if err != nil {
		return nil, err
	}
	ack := ackFr.GetSuback()
	if e := ackFr.GetError(); e != nil {
		return ack, fmt.Errorf("attendee: SUBSCRIBE_ACK error %d: %s", e.GetStatus(), e.GetDescription())
	}
	if err := a.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ack.GetSdpAnswer()}); err != nil {
		return ack, fmt.Errorf("attendee: apply answer: %w", err)
	}
	declared := declaredSSRCs(ack.GetSdpAnswer())
	a.filter.declared.Store(&declared)
	labels := make(map[string]uint32, len(ack.GetTracks()))
	for _, t := range ack.GetTracks() {
		labels[t.GetTrackLabel()] = t.GetStreamId()
	}
	a.vidMu.Lock()
	if cam != nil && a.cam == cam {
		a.allocs = ack.GetAllocations()
	}
	a.subMids, a.midStream, a.labelStream = mids, midStream, labels
	a.vidMu.Unlock()
	a.mu.Lock()
	a.ack = ack
	a.mu.Unlock()
	return ack, nil
}

// subscriptionLines returns the transceivers of the video m-lines after
// the camera's, adding recvonly ones until there are at least n.
func (a *Attendee) subscriptionLines(n int) ([]*webrtc.RTPTransceiver, error) {
	var lines []*webrtc.RTPTransceiver
	for _, tr := range a.pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr != a.camTr {
			lines = append(lines, tr)
		}
	}
	for len(lines) < n {
		tr, err := a.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return nil, fmt.Errorf("attendee: video receive transceiver: %w", err)
		}
		lines = append(lines, tr)
	}
	return lines, nil
}

// RemoteVideoUpdate asks the server to forward streamID on mid (a line
// already subscribed) without renegotiation, as the SDK switches a remote
// video's simulcast layer: REMOTE_VIDEO_UPDATE {mid, stream_id, and the
// attendee_id and group_id the last INDEX gives the stream}.
func (a *Attendee) RemoteVideoUpdate(ctx context.Context, mid string, streamID uint32) error {
	a.negMu.Lock()
	defer a.negMu.Unlock()
	c := &protocol.SdkVideoSubscriptionConfiguration{Mid: proto.String(mid), StreamId: proto.Uint32(streamID)}
	a.sigMu.Lock()
	for _, s := range a.index.GetSources() {
		if s.GetStreamId() == streamID {
			c.AttendeeId, c.GroupId = proto.String(s.GetAttendeeId()), proto.Uint32(s.GetGroupId())
		}
	}
	a.sigMu.Unlock()
	fr := protocol.NewFrame(protocol.SdkSignalFrame_REMOTE_VIDEO_UPDATE, time.Now())
	fr.RemoteVideoUpdate = &protocol.SdkRemoteVideoUpdateFrame{
		AddedOrUpdatedVideoSubscriptions: []*protocol.SdkVideoSubscriptionConfiguration{c},
	}
	if err := a.sig.Send(ctx, fr); err != nil {
		return err
	}
	var label string
	if st, ok := a.VideoTrack(mid); ok {
		label = st.Label
	}
	a.vidMu.Lock()
	defer a.vidMu.Unlock()
	if a.midStream == nil {
		a.midStream = map[string]uint32{}
	}
	a.midStream[mid] = streamID
	if label != "" && a.labelStream != nil {
		a.labelStream[label] = streamID
	}
	if i := slices.Index(a.subMids, mid); i >= 0 && i < len(a.wanted) {
		a.wanted[i] = streamID // a later SUBSCRIBE keeps the switch
	}
	return nil
}

// Pause sends PAUSE for the subscribed streamIDs: the server stops
// forwarding them.
func (a *Attendee) Pause(ctx context.Context, streamIDs ...uint32) error {
	return a.pauseResume(ctx, protocol.SdkSignalFrame_PAUSE, streamIDs)
}

// Resume sends RESUME for streamIDs paused before.
func (a *Attendee) Resume(ctx context.Context, streamIDs ...uint32) error {
	return a.pauseResume(ctx, protocol.SdkSignalFrame_RESUME, streamIDs)
}

func (a *Attendee) pauseResume(ctx context.Context, t protocol.SdkSignalFrame_Type, ids []uint32) error {
	fr := protocol.NewFrame(t, time.Now())
	fr.Pause = &protocol.SdkPauseResumeFrame{StreamIds: slices.Clone(ids)}
	return a.sig.Send(ctx, fr)
}

// Subscription is one video m-line after the camera's.
type Subscription struct {
	Mid      string
	StreamID uint32 // 0: the line is offered inactive
}

// Subscriptions returns the subscription lines of the last SUBSCRIBE, in
// SDP order, with the stream each carries now (REMOTE_VIDEO_UPDATE
// included).
func (a *Attendee) Subscriptions() []Subscription {
	a.vidMu.Lock()
	defer a.vidMu.Unlock()
	out := make([]Subscription, 0, len(a.subMids))
	for _, mid := range a.subMids {
		out = append(out, Subscription{Mid: mid, StreamID: a.midStream[mid]})
	}
	return out
}

// withStream fills st.StreamID: the stream SUBSCRIBE_ACK tracks[] (or a
// later REMOTE_VIDEO_UPDATE) maps the track's label to, else the one its
// mid was subscribed to.
func (a *Attendee) withStream(st VideoStats) VideoStats {
	a.vidMu.Lock()
	defer a.vidMu.Unlock()
	if id, ok := a.labelStream[st.Label]; ok && st.Label != "" {
		st.StreamID = id
	} else {
		st.StreamID = a.midStream[st.Mid]
	}
	return st
}
