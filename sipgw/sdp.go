package sipgw

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/confab-media/confab/mixer"
)

// SDP offer/answer, RFC 3264 (https://www.rfc-editor.org/rfc/rfc3264).

// codec is the audio codec of a call.
type codec uint8

const (
	codecOpus codec = iota + 1
	codecPCMU
	codecPCMA
)

func (c codec) String() string {
	switch c {
	case codecOpus:
		return "opus"
	case codecPCMU:
		return "pcmu"
	case codecPCMA:
		return "pcma"
	}
	return "none"
}

// rtpName is the codec's a=rtpmap encoding, as answered.
func (c codec) rtpName() string {
	switch c {
	case codecOpus:
		return "opus/48000/2" // RFC 7587 §7: always /48000/2
	case codecPCMU:
		return "PCMU/8000"
	}
	return "PCMA/8000"
}

// mixerCodec is the codec the call's leg has in the meeting's mixer: Opus
// frames pass through; G.711 callers push decoded PCM and get G.711 the
// mixer encoded once for all callers of that codec.
func (c codec) mixerCodec() mixer.Codec {
	switch c {
	case codecPCMU:
		return mixer.CodecPCMU
	case codecPCMA:
		return mixer.CodecPCMA
	}
	return mixer.CodecOpus
}

// clock is the codec's RTP clock rate.
func (c codec) clock() uint32 {
	if c == codecOpus {
		return 48000
	}
	return 8000
}

// direction is an SDP media direction (RFC 3264 §5.1).
type direction uint8

const (
	dirSendRecv direction = iota
	dirSendOnly
	dirRecvOnly
	dirInactive
)

func (d direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// reverse is the answer's direction for an offered one.
func (d direction) reverse() direction {
	switch d {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	}
	return d
}

// offer is a parsed SDP offer.
type offer struct {
	sd      sdp.SessionDescription
	version uint64 // o= session version, to recognise an unchanged refresh
}

// parseOffer parses an SDP body.
func parseOffer(body []byte) (*offer, error) {
	o := &offer{}
	if err := o.sd.Unmarshal(body); err != nil {
		return nil, err
	}
	o.version = o.sd.Origin.SessionVersion
	return o, nil
}

// plan is what the gateway accepted from an offer: one audio stream.
type plan struct {
	index  int    // of the accepted m= line
	proto  string // "RTP/AVP", "RTP/SAVP", ...
	codec  codec
	pt     uint8
	tePT   int // telephone-event payload type, or −1
	teRate int
	// remote is the offer's c= address and m= port; invalid when the
	// address is not an IP literal. hold is set for the RFC 2543 hold
	// address 0.0.0.0.
	remote  netip.AddrPort
	hold    bool
	dir     direction // as offered
	rtcpMux bool
	crypto  *sdesCrypto // nil for plain RTP
}

// muted reports whether the caller holds the call: its audio is not mixed.
func (p *plan) muted() bool { return p.hold || p.dir == dirSendOnly || p.dir == dirInactive }

// sending reports whether the gateway sends media to the caller.
func (p *plan) sending() bool { return !p.hold && (p.dir == dirSendRecv || p.dir == dirRecvOnly) }

// expectsRTP reports whether the caller is meant to send RTP.
func (p *plan) expectsRTP() bool { return !p.hold && (p.dir == dirSendRecv || p.dir == dirSendOnly) }

// negotiate picks the first audio m= line the gateway can serve: Opus if
// offered, else PCMU or PCMA (first in offer order), plus telephone-event;
// RTP/SAVP needs a supported a=crypto line (the first in offer order);
// RTP/AVP is refused when requireSRTP is set. When only is not nil, the
// stream must keep that codec (a re-offer). A refusal names the most
// specific reason over all audio lines.
func negotiate(o *offer, requireSRTP bool, only codec) (*plan, *refusal) {
	why := refuseNoAudio
	worse := func(r *refusal) {
		// Specificity order: no audio < no codec < crypto/SRTP problems.
		if why == refuseNoAudio || (why == refuseNoCodec && r != refuseNoCodec) {
			why = r
		}
	}
	for i, md := range o.sd.MediaDescriptions {
		if !strings.EqualFold(md.MediaName.Media, "audio") || md.MediaName.Port.Value == 0 {
			continue
		}
		proto := strings.ToUpper(strings.Join(md.MediaName.Protos, "/"))
		var secure bool
		switch proto {
		case "RTP/AVP", "RTP/AVPF":
		case "RTP/SAVP", "RTP/SAVPF":
			secure = true
		default: // UDP/TLS/RTP/SAVPF (DTLS-SRTP), ...
			worse(refuseNoCodec)
			continue
		}
		p := &plan{index: i, proto: proto, tePT: -1}
		if !pickCodec(md, p, only) {
			if only != 0 {
				worse(refuseCodecChange)
			} else {
				worse(refuseNoCodec)
			}
			continue
		}
		if !secure && requireSRTP {
			worse(refuseSRTPRequired)
			continue
		}
		if secure {
			for _, a := range md.Attributes {
				if a.Key != "crypto" {
					continue
				}
				if c, ok := parseCrypto(a.Value); ok {
					p.crypto = &c
					break
				}
			}
			if p.crypto == nil {
				worse(refuseNoCrypto)
				continue
			}
		}
		p.dir = mediaDirection(&o.sd, md)
		_, p.rtcpMux = md.Attribute("rtcp-mux")
		p.remote, p.hold = remoteAddr(&o.sd, md)
		return p, nil
	}
	return nil, why
}

// pickCodec fills p's codec and telephone-event from md's formats.
func pickCodec(md *sdp.MediaDescription, p *plan, only codec) bool {
	type fmtInfo struct {
		pt   uint8
		name string // lower case, e.g. "opus/48000/2"
	}
	var fmts []fmtInfo
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		name := ""
		switch pt { // static payload types, RFC 3551 §6
		case 0:
			name = "pcmu/8000"
		case 8:
			name = "pcma/8000"
		}
		prefix := f + " "
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.HasPrefix(a.Value, prefix) {
				name = strings.ToLower(strings.TrimSpace(a.Value[len(prefix):]))
				break
			}
		}
		fmts = append(fmts, fmtInfo{uint8(pt), name})
	}
	is := func(name, enc string, rate string) bool {
		e, rest, _ := strings.Cut(name, "/")
		r, _, _ := strings.Cut(rest, "/")
		return e == enc && r == rate
	}
	for _, f := range fmts {
		if is(f.name, "opus", "48000") && (only == 0 || only == codecOpus) {
			p.codec, p.pt = codecOpus, f.pt
			break
		}
	}
	if p.codec == 0 {
		for _, f := range fmts {
			switch {
			case is(f.name, "pcmu", "8000") && (only == 0 || only == codecPCMU):
				p.codec, p.pt = codecPCMU, f.pt
			case is(f.name, "pcma", "8000") && (only == 0 || only == codecPCMA):
				p.codec, p.pt = codecPCMA, f.pt
			default:
				continue
			}
			break
		}
	}
	if p.codec == 0 {
		return false
	}
	// telephone-event: the codec's clock rate if offered, else any.
	want := strconv.Itoa(int(p.codec.clock()))
	for _, f := range fmts {
		e, rest, _ := strings.Cut(f.name, "/")
		if e != "telephone-event" {
			continue
		}
		r, _, _ := strings.Cut(rest, "/")
		rate, err := strconv.Atoi(r)
		if err != nil || rate <= 0 {
			continue
		}
		if p.tePT < 0 || r == want {
			p.tePT, p.teRate = int(f.pt), rate
		}
		if r == want {
			break
		}
	}
	return true
}

// mediaDirection returns md's direction attribute, else the session's,
// else sendrecv.
func mediaDirection(sd *sdp.SessionDescription, md *sdp.MediaDescription) direction {
	find := func(attrs []sdp.Attribute) (direction, bool) {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv":
				return dirSendRecv, true
			case "sendonly":
				return dirSendOnly, true
			case "recvonly":
				return dirRecvOnly, true
			case "inactive":
				return dirInactive, true
			}
		}
		return dirSendRecv, false
	}
	if d, ok := find(md.Attributes); ok {
		return d
	}
	d, _ := find(sd.Attributes)
	return d
}

// remoteAddr returns md's connection address (else the session's) and port.
func remoteAddr(sd *sdp.SessionDescription, md *sdp.MediaDescription) (netip.AddrPort, bool) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return netip.AddrPort{}, false
	}
	if ip.IsUnspecified() {
		return netip.AddrPort{}, true
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(md.MediaName.Port.Value)), false
}

// answer renders the SDP answer: the accepted stream, and every other m=
// line of the offer rejected with port 0.
type answer struct {
	sessionID uint64
	version   uint64
	ip        netip.Addr
	port      int
	last      string // body of the last answer, to keep o= version when unchanged
}

func (a *answer) render(o *offer, p *plan, s *srtpSession, dir direction) []byte {
	var b strings.Builder
	addrType := "IP4"
	if a.ip.Is6() {
		addrType = "IP6"
	}
	line := func(parts ...string) {
		for _, s := range parts {
			b.WriteString(s)
		}
		b.WriteString("\r\n")
	}
	for i, md := range o.sd.MediaDescriptions {
		if i != p.index {
			fmts := md.MediaName.Formats
			if len(fmts) == 0 {
				fmts = []string{"0"}
			}
			line("m=", md.MediaName.Media, " 0 ", strings.Join(md.MediaName.Protos, "/"), " ", strings.Join(fmts, " "))
			continue
		}
		pt := strconv.Itoa(int(p.pt))
		m := "m=audio " + strconv.Itoa(a.port) + " " + strings.Join(md.MediaName.Protos, "/") + " " + pt
		if p.tePT >= 0 {
			m += " " + strconv.Itoa(p.tePT)
		}
		line(m)
		line("a=rtpmap:", pt, " ", p.codec.rtpName())
		if p.codec == codecOpus {
			line("a=fmtp:", pt, " useinbandfec=1")
		}
		if p.tePT >= 0 {
			te := strconv.Itoa(p.tePT)
			line("a=rtpmap:", te, " telephone-event/", strconv.Itoa(p.teRate))
			line("a=fmtp:", te, " 0-16")
		}
		line("a=ptime:20")
		line("a=maxptime:20")
		line("a=", dir.String())
		if p.rtcpMux {
			line("a=rtcp-mux")
		}
		if s != nil {
			line("a=crypto:", s.answerLine())
		}
	}
	media := b.String()
	if media != a.last {
		a.version++
		a.last = media
	}
	ip := a.ip.String()
	head := "v=0\r\n" +
		"o=confab " + strconv.FormatUint(a.sessionID, 10) + " " + strconv.FormatUint(a.version, 10) + " IN " + addrType + " " + ip + "\r\n" +
		"s=confab\r\n" +
		"c=IN " + addrType + " " + ip + "\r\n" +
		"t=0 0\r\n"
	return []byte(head + media)
}
