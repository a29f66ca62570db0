package phone

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"

	"github.com/confab-media/confab/bench/attendee"
)

// Config describes one synthetic caller.
type Config struct {
	// Gateway is the SIP gateway's UDP address (host:port).
	Gateway string
	// Number is the number dialled (the Request-URI's user part), the
	// gateway's dial-in number.
	Number string
	// JoinToken is the attendee's JoinToken, sent as the Request-URI
	// parameter X-chime-join-token; empty for a call that a SIP media
	// application answers (the PIN flow: see Digits).
	JoinToken string
	// Digits, if set, are keyed as RFC 4733 telephone-events DigitsAfter
	// (default 300 ms) after the call is answered, as a caller keys a
	// meeting PIN at the prompt.
	Digits      string
	DigitsAfter time.Duration
	// Name labels the caller in logs.
	Name string
	// From is the caller ID, an E.164 number (the gateway refuses others).
	From string
	// Codec is "PCMU" (default), "PCMA" or "OPUS" (48 kHz mono, RFC 7587).
	Codec string
	// SRTP offers RTP/SAVP keyed by SDES (AES_CM_128_HMAC_SHA1_80) instead
	// of plain RTP.
	SRTP bool
	// ToneHz, Bursts and Listen are as attendee.Config's, at the codec's
	// rate.
	ToneHz float64
	Bursts attendee.Bursts
	Listen []float64
}

// Phone audio: 20 ms per packet.
const (
	frameDur      = 20 * time.Millisecond
	toneAmplitude = 8000
)

// Stats describes a call's audio and timing.
type Stats struct {
	Invited, Answered, FirstAudio time.Time // zero until they happen
	LastKeyAt                     time.Time // the last key of Config.Digits went down (its first event packet)
	Sent, Packets, SeqGaps        uint64
	JitterMs                      float64 // RFC 3550 interarrival jitter of what the gateway sent
	LastArrival                   time.Time
}

// Call is one established call.
type Call struct {
	cfg    Config
	sess   *sipgo.DialogClientSession
	conn   *net.UDPConn
	remote *net.UDPAddr
	voice  *voice        // the codec the answer chose
	te     int           // the answer's telephone-event payload type at the codec's clock, or -1
	keys   sdesKeys      // with SRTP: the offer's key
	tx, rx *srtp.Context // with SRTP: what the caller sends, what it gets

	tones *attendee.ToneLog

	mu    sync.Mutex // guards stats
	stats Stats

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Dial calls cfg.Number at cfg.Gateway with the join token and, once
// answered, starts speaking and listening. ctx bounds the call set-up.
func (d *Dialer) Dial(ctx context.Context, cfg Config) (*Call, error) {
	if cfg.Codec == "" {
		cfg.Codec = "PCMU"
	}
	if cfg.Codec != "PCMU" && cfg.Codec != "PCMA" && cfg.Codec != "OPUS" {
		return nil, fmt.Errorf("phone: codec %q: want PCMU, PCMA or OPUS", cfg.Codec)
	}
	if err := checkDigits(cfg.Digits); err != nil {
		return nil, err
	}
	if cfg.DigitsAfter <= 0 {
		cfg.DigitsAfter = 300 * time.Millisecond
	}
	host, portStr, err := net.SplitHostPort(cfg.Gateway)
	if err != nil {
		return nil, fmt.Errorf("phone: gateway %q: %w", cfg.Gateway, err)
	}
	port, _ := strconv.Atoi(portStr)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(d.host)})
	if err != nil {
		return nil, fmt.Errorf("phone: RTP socket: %w", err)
	}
	c := &Call{cfg: cfg, conn: conn, stop: make(chan struct{})}
	if cfg.SRTP {
		c.keys = newSDESKeys()
		if c.tx, err = c.keys.context(); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	uri := sip.Uri{Scheme: "sip", User: cfg.Number, Host: host, Port: port, UriParams: sip.NewParams()}
	if cfg.JoinToken != "" {
		uri.UriParams.Add("X-chime-join-token", cfg.JoinToken)
	}
	c.stats.Invited = time.Now()
	sess, err := d.invite(ctx, uri, cfg.From, c.offer())
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("phone: INVITE: %w", err)
	}
	c.sess = sess
	c.stats.Answered = time.Now()
	if err := c.useAnswer(sess.InviteResponse.Body()); err != nil {
		_ = c.Hangup(ctx)
		return nil, err
	}
	c.tones = attendee.NewToneLog(cfg.Listen, float64(c.voice.rate))
	c.wg.Add(2)
	go c.speak()
	go c.listen()
	return c, nil
}

// offer is the SDP offer, as a desk phone or softphone makes it: the
// configured codec first (Opus only when configured: the gateway prefers
// it whenever offered), G.711 after it, RFC 4733 events at the configured
// codec's clock; with SRTP the profile RTP/SAVP and one a=crypto line.
func (c *Call) offer() []byte {
	port := c.conn.LocalAddr().(*net.UDPAddr).Port
	ip := c.conn.LocalAddr().(*net.UDPAddr).IP.String()
	fmts := map[string]string{"PCMU": "0 8 101", "PCMA": "8 0 101", "OPUS": "111 0 8 101"}[c.cfg.Codec]
	proto, crypto := "RTP/AVP", ""
	if c.cfg.SRTP {
		proto, crypto = "RTP/SAVP", "a=crypto:"+c.keys.line()+"\r\n"
	}
	opus, events := "", 8000
	if c.cfg.Codec == "OPUS" {
		opus, events = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n", 48000
	}
	id := rand.Uint32()
	return fmt.Appendf(nil, "v=0\r\no=- %d %d IN IP4 %s\r\ns=confab-bench\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d %s %s\r\n%sa=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/%d\r\na=fmtp:101 0-16\r\na=ptime:20\r\n%sa=sendrecv\r\n",
		id, id, ip, ip, port, proto, fmts, opus, events, crypto)
}

// useAnswer takes the gateway's media address, the codec it chose and,
// with SRTP, its key.
func (c *Call) useAnswer(body []byte) error {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return fmt.Errorf("phone: answer: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		addr := ""
		if md.ConnectionInformation != nil && md.ConnectionInformation.Address != nil {
			addr = md.ConnectionInformation.Address.Address
		} else if sd.ConnectionInformation != nil && sd.ConnectionInformation.Address != nil {
			addr = sd.ConnectionInformation.Address.Address
		}
		ip := net.ParseIP(addr)
		if ip == nil {
			return fmt.Errorf("phone: answer has no usable address %q", addr)
		}
		c.remote = &net.UDPAddr{IP: ip, Port: md.MediaName.Port.Value}
		if len(md.MediaName.Formats) == 0 {
			break
		}
		pt, err := strconv.ParseUint(md.MediaName.Formats[0], 10, 7)
		if err != nil {
			return fmt.Errorf("phone: answer payload type %q", md.MediaName.Formats[0])
		}
		if c.voice, err = newVoice(uint8(pt)); err != nil {
			return err
		}
		var rtpmaps []string
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" {
				rtpmaps = append(rtpmaps, a.Value)
			}
		}
		if c.te = telephoneEventPT(rtpmaps, c.voice.rate); c.te < 0 && c.cfg.Digits != "" {
			return fmt.Errorf("phone: the answer has no telephone-event at %d Hz to key %q with", c.voice.rate, c.cfg.Digits)
		}
		if c.cfg.SRTP {
			line, ok := md.Attribute("crypto")
			if !ok {
				return errors.New("phone: the answer to an SRTP offer has no a=crypto line")
			}
			if c.rx, err = answerContext(line); err != nil {
				return err
			}
		}
		return nil
	}
	return errors.New("phone: the answer accepts no audio stream")
}

// speak sends one 20 ms frame of the tone (in bursts) or silence per
// tick, paced by the wall clock as a phone's audio clock is; while a key
// of Config.Digits is down, telephone-events instead.
func (c *Call) speak() {
	defer c.wg.Done()
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	v := c.voice
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: v.pt, SSRC: rand.Uint32(),
		SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}}
	pcm := make([]int16, v.samples)
	coded := make([]byte, 1000)
	buf := make([]byte, 1500)
	wire := make([]byte, 1500) // SRTP
	step := 2 * math.Pi * c.cfg.ToneHz / float64(v.rate)
	var phase float64
	write := func(p *rtp.Packet) error {
		n, err := p.MarshalTo(buf)
		out := buf[:n]
		if err == nil && c.tx != nil {
			out, err = c.tx.EncryptRTP(wire[:0], out, &p.Header)
		}
		if err == nil {
			_, err = c.conn.WriteToUDP(out, c.remote)
		}
		p.SequenceNumber++
		return err
	}
	keys := &keypad{pt: uint8(max(c.te, 0)), perPacket: uint32(v.samples)}
	keysAt := int(c.cfg.DigitsAfter / frameDur)
	var ev rtp.Packet
	sendEvent := func(payload []byte, marker bool, ts uint32) {
		ev.Header, ev.Payload = pkt.Header, payload
		ev.PayloadType, ev.Marker, ev.Timestamp = keys.pt, marker, ts
		_ = write(&ev)
		pkt.SequenceNumber = ev.SequenceNumber
	}
	for frame := 0; ; frame++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if frame == keysAt {
			keys.keys = c.cfg.Digits
		}
		if event, last := keys.tick(pkt.Timestamp, sendEvent); event {
			if last {
				c.mu.Lock()
				c.stats.LastKeyAt = time.Now()
				c.mu.Unlock()
			}
			pkt.Timestamp += uint32(v.samples)
			continue
		}
		start := false
		for i := range pcm {
			pcm[i] = 0
			if c.cfg.ToneHz > 0 {
				g, first := c.cfg.Bursts.Gain(frame, i, float64(v.rate))
				start = start || first
				pcm[i] = int16(g * toneAmplitude * math.Sin(phase))
				phase += step
			}
		}
		phase = math.Mod(phase, 2*math.Pi)
		payload, err := v.encode(pcm, coded)
		if err != nil {
			return
		}
		pkt.Payload = payload
		err = write(&pkt)
		if start && c.cfg.Bursts.Period > 0 {
			c.tones.BurstStarted(time.Now())
		}
		if err == nil {
			c.mu.Lock()
			c.stats.Sent++
			c.mu.Unlock()
		}
		pkt.Timestamp += uint32(v.samples)
	}
}

// listen receives the gateway's RTP: counts, RFC 3550 jitter, decoding and
// onset detection.
func (c *Call) listen() {
	defer c.wg.Done()
	v := c.voice
	buf := make([]byte, 1500)
	plain := make([]byte, 1500) // SRTP
	pcm := make([]int16, v.samples*6)
	rate := float64(v.rate)
	var hdr rtp.Header
	var pkt rtp.Packet
	var lastSeq uint16
	var lastTransit, jitter float64
	first := true
	for {
		n, _, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		now := time.Now()
		in := buf[:n]
		if n < 2 || (in[1]&0x7f) != v.pt {
			continue // not the call's audio (telephone-event, RTCP)
		}
		if c.rx != nil {
			if in, err = c.rx.DecryptRTP(plain[:0], in, &hdr); err != nil {
				continue // not authentic, or a replay
			}
		}
		if pkt.Unmarshal(in) != nil {
			continue
		}
		// Jitter, RFC 3550 §6.4.1, in timestamp units.
		transit := float64(now.UnixNano())*rate/1e9 - float64(pkt.Timestamp)
		c.mu.Lock()
		if first {
			c.stats.FirstAudio = now
		} else {
			if pkt.SequenceNumber != lastSeq+1 {
				c.stats.SeqGaps++
			}
			jitter += (math.Abs(transit-lastTransit) - jitter) / 16
		}
		c.stats.Packets++
		c.stats.LastArrival = now
		c.stats.JitterMs = jitter / rate * 1000
		c.mu.Unlock()
		first, lastSeq, lastTransit = false, pkt.SequenceNumber, transit
		if !c.tones.Listening() {
			continue
		}
		if frame, err := v.decode(pkt.Payload, pcm); err == nil {
			c.tones.Frame(frame, now)
		}
	}
}

// Stats returns the call's timing and audio counts.
func (c *Call) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Bursts returns when each tone burst's first frame was sent.
func (c *Call) Bursts() []time.Time { return c.tones.Bursts() }

// Onsets returns when the received audio started a tone at hz (one of
// Config.Listen).
func (c *Call) Onsets(hz float64) []time.Time { return c.tones.Onsets(hz) }

// Hangup sends BYE (if the call is up) and closes the call.
func (c *Call) Hangup(ctx context.Context) error {
	var err error
	if c.sess != nil {
		err = c.sess.Bye(ctx)
	}
	return errors.Join(err, c.Close())
}

// Close stops the media goroutines and closes the RTP socket and the
// dialog, without BYE. It is idempotent.
func (c *Call) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		err = c.conn.Close()
		c.wg.Wait()
		if c.sess != nil {
			_ = c.sess.Close()
		}
	})
	return err
}

// String names the call for logs.
func (c *Call) String() string { return strings.TrimSpace(c.cfg.Name + " " + c.cfg.Number) }
