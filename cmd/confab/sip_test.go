package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/bench/attendee"
	"github.com/confab-media/confab/internal/dsp"
	"github.com/confab-media/confab/internal/testkit"
)

// TestSIPDialInOverServe: a real SIP softphone (baresip, PCMU over UDP)
// dials `confab serve` with an attendee's join token while a synthetic
// WebRTC attendee is in the meeting. The phone attendee appears in the
// WebRTC attendee's presence, each hears the other's tone (mix-minus: not
// its own), chime:AttendeeJoined goes out with networkType PSTN, and
// DeleteAttendee hangs the phone up and removes its presence.
func TestSIPDialInOverServe(t *testing.T) {
	s := startServer(t, "", noThrottle())
	c := s.client(testKeyID, testSecret)
	cm, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{
		ClientRequestToken: aws.String("sip-1"), MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("sip-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	mid := cm.Meeting.MeetingId
	phone, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: mid, ExternalUserId: aws.String("phone-user")})
	if err != nil {
		t.Fatal(err)
	}
	web, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: mid, ExternalUserId: aws.String("web-user")})
	if err != nil {
		t.Fatal(err)
	}
	const webTone, phoneTone = 700.0, 1000.0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	browser, err := attendee.Dial(ctx, attendee.Config{
		SignalingURL: aws.StringValue(cm.Meeting.MediaPlacement.SignalingUrl), JoinToken: aws.StringValue(web.Attendee.JoinToken),
		Name: "web", ToneHz: webTone, Loopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()

	dir, out := startBaresip(t, sipListener(t, s), aws.StringValue(phone.Attendee.JoinToken), phoneTone)

	phoneID := aws.StringValue(phone.Attendee.AttendeeId)
	waitUntil(t, 15*time.Second, "the phone in the browser's presence", func() bool {
		for _, p := range browser.Presence() {
			if p.AttendeeID == phoneID {
				return true
			}
		}
		return false
	})
	time.Sleep(4 * time.Second) // jitter buffers, talker selection
	pw, n := browser.Power(2*time.Second, phoneTone, webTone)
	if n == 0 || attendee.DB(pw[0])-attendee.DB(pw[1]) < 20 {
		t.Errorf("browser hears the phone at %.1f dB, its own tone at %.1f dB (%d samples): want ≥ 20 dB apart", attendee.DB(pw[0]), attendee.DB(pw[1]), n)
	}
	if !regexp.MustCompile(`msg="meeting event".* type=chime:AttendeeJoined .*attendee=` + regexp.QuoteMeta(*phone.Attendee.AttendeeId) + `.* network=PSTN`).MatchString(s.Log()) {
		t.Errorf("no AttendeeJoined event with networkType PSTN for the phone in the log:\n%s", grepLines(s.Log(), "meeting event"))
	}

	if _, err := c.DeleteAttendee(&chimesdkmeetings.DeleteAttendeeInput{MeetingId: mid, AttendeeId: phone.Attendee.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the phone's presence gone", func() bool {
		for _, p := range browser.Presence() {
			if p.AttendeeID == phoneID {
				return false
			}
		}
		return true
	})
	waitUntil(t, 10*time.Second, "baresip told the call ended (BYE)", func() bool {
		o := strings.ToLower(out.String())
		return strings.Contains(o, "terminated") || strings.Contains(o, "closed")
	})

	// What the phone heard: the browser's tone, not its own.
	checkPhoneHeard(t, dir, webTone, phoneTone)
}

// checkPhoneHeard checks baresip's recording in dir: its last two seconds
// carry heardHz at least 20 dB over ownHz (the phone's own tone).
func checkPhoneHeard(t *testing.T, dir string, heardHz, ownHz float64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
	if len(files) != 1 {
		t.Fatalf("baresip recordings: %v", files)
	}
	pcm := readPCM16(t, files[0])
	if len(pcm) < 3*8000 {
		t.Fatalf("phone recorded %d samples", len(pcm))
	}
	heard := pcm[len(pcm)-2*8000:]
	if h, o := goertzel8k(heard, heardHz), goertzel8k(heard, ownHz); h-o < 20 {
		t.Errorf("phone hears the browser at %.1f dB, its own tone at %.1f dB: want ≥ 20 dB apart", h, o)
	}
}

// startBaresip runs baresip (PCMU over UDP) dialing the dial-in number at
// sipAddr with token, sending a tone of toneHz and recording what it hears
// in its directory (dump-*-dec.wav), which it returns with its output. It
// is killed at cleanup.
func startBaresip(t *testing.T, sipAddr, token string, toneHz float64) (string, *syncBuffer) {
	t.Helper()
	return startBaresipDial(t, fmt.Sprintf("sip:+17035550122@%s;X-chime-join-token=%s", sipAddr, token), toneHz, 0)
}

// startBaresipDial is startBaresip dialing uri; with consPort > 0 its
// console listens there (UDP): sendKeys types into it, digits in a call
// being sent as DTMF (RFC 4733).
func startBaresipDial(t *testing.T, uri string, toneHz float64, consPort int) (string, *syncBuffer) {
	t.Helper()
	return runBaresip(t, baresipOpts{dial: uri, toneHz: toneHz, consPort: consPort, listenPort: testkit.FreeSIPPort(t)})
}

// startBaresipCallee runs baresip as the phone of number user that
// answers its calls at once on a free loopback port, which it returns (a
// stand-in for a trunk's callee), sending a tone of toneHz and recording
// what it hears. A port found free can be taken before baresip binds it
// (an ephemeral port of another connection: seen in CI), so a start that
// fails with "Address already in use" is retried on another port.
func startBaresipCallee(t *testing.T, user string, toneHz float64) (int, *syncBuffer) {
	t.Helper()
	for try := 0; ; try++ {
		port := testkit.FreeSIPPort(t)
		_, out := runBaresip(t, baresipOpts{user: user, toneHz: toneHz, listenPort: port, answer: true})
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), "baresip is ready") && !strings.Contains(out.String(), "Address already in use") &&
			time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(out.String(), "Address already in use") {
			return port, out
		}
		if try == 4 {
			t.Fatalf("baresip found no free port in 5 tries:\n%s", out.String())
		}
	}
}

type baresipOpts struct {
	user       string // the account's number; "": +12065550100
	dial       string // "": no call of its own
	toneHz     float64
	consPort   int // > 0: a UDP console
	listenPort int
	answer     bool // answer incoming calls at once
}

func runBaresip(t *testing.T, o baresipOpts) (string, *syncBuffer) {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip is missing: run `make test-deps` (apt-get install -y baresip sip-tester)")
	}
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "in.wav"), 8000, o.toneHz, 30*time.Second)
	lines := []string{
		"poll_method epoll", fmt.Sprintf("sip_listen 127.0.0.1:%d", o.listenPort), "net_interface 127.0.0.1",
		"audio_source aufile," + filepath.Join(dir, "in.wav"), "snd_path " + dir, "audio_buffer 20-160",
		"rtp_timeout 0", "module_path /usr/lib/baresip/modules", "module g711.so", "module aufile.so",
		"module sndfile.so", "module_tmp account.so", "module_app menu.so",
	}
	if o.consPort > 0 {
		lines = append(lines, "module cons.so", fmt.Sprintf("cons_listen 127.0.0.1:%d", o.consPort))
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.user == "" {
		o.user = "+12065550100"
	}
	account := "<sip:" + o.user + "@127.0.0.1>;regint=0;audio_codecs=PCMU/8000/1"
	if o.answer {
		account += ";answermode=auto"
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir, "-t", "25"}
	if o.dial != "" {
		args = append(args, "-e", "/dial "+o.dial)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("baresip:\n%s", out.String())
		}
	})
	return dir, out
}

// sendKeys types keys into a baresip console (startBaresipDial), one
// datagram per key, gap apart.
func sendKeys(t *testing.T, consPort int, keys string, gap time.Duration) {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", consPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, k := range keys {
		if _, err := c.Write([]byte(string(k))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(gap)
	}
}

// sipListener returns the SIP UDP address a confab serve logged.
func sipListener(t testing.TB, s *server) string {
	t.Helper()
	m := regexp.MustCompile(`sipgw: listening" .*?udp=(127\.0\.0\.1:\d+)`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no SIP listener in the log:\n%s", s.Log())
	}
	return m[1]
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeUDP(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeWAV writes a mono 16-bit PCM WAV of a sine.
func writeWAV(t testing.TB, path string, rate int, freq float64, d time.Duration) {
	t.Helper()
	n := int(d * time.Duration(rate) / time.Second)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := range n {
		_ = binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readPCM16 returns the first channel of a 16-bit PCM WAV (read to its
// end if the recording was cut short).
func readPCM16(t *testing.T, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	hdr := make([]byte, 12)
	if _, err := r.Read(hdr); err != nil || string(hdr[:4]) != "RIFF" {
		t.Fatalf("%s: not a WAV", path)
	}
	channels := 1
	for {
		ch := make([]byte, 8)
		if _, err := io.ReadFull(r, ch); err != nil {
			t.Fatalf("%s: no data chunk", path)
		}
		size := int(binary.LittleEndian.Uint32(ch[4:]))
		if string(ch[:4]) == "fmt " {
			body := make([]byte, size)
			_, _ = io.ReadFull(r, body)
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			continue
		}
		if string(ch[:4]) != "data" {
			_, _ = r.Discard(size)
			continue
		}
		var pcm []int16
		frame := make([]byte, 2*channels)
		for {
			if _, err := io.ReadFull(r, frame); err != nil {
				return pcm
			}
			pcm = append(pcm, int16(binary.LittleEndian.Uint16(frame)))
		}
	}
}

// goertzel8k is the power (dB) of pcm (8 kHz) at hz.
func goertzel8k(pcm []int16, hz float64) float64 { return dsp.DB(dsp.Goertzel(pcm, hz, 8000)) }
