package attendee

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/confab-media/confab/signaling/protocol"
)

// relayServers picks, from the TURN credentials of JOIN_ACK, the URIs for
// transport ("udp", "tcp", or "tls" for turns:), as ICE servers. The SDK
// gives the browser every URI; a bench run picks one transport so that the
// report says which one it measured. RFC 7065 defines the URI syntax.
func relayServers(c *protocol.SdkTurnCredentials, transport string) ([]webrtc.ICEServer, error) {
	if c == nil || len(c.GetUris()) == 0 {
		return nil, fmt.Errorf("attendee: relay %s asked for, but JOIN_ACK carries no TURN credentials", transport)
	}
	var urls []string
	for _, u := range c.GetUris() {
		if uriTransport(u) == transport {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("attendee: relay %s asked for, but JOIN_ACK's TURN URIs are %v", transport, c.GetUris())
	}
	return []webrtc.ICEServer{{URLs: urls, Username: c.GetUsername(), Credential: c.GetPassword()}}, nil
}

// uriTransport is "tls" for a turns: URI, else the transport parameter
// ("udp" when absent).
func uriTransport(uri string) string {
	if strings.HasPrefix(uri, "turns:") {
		return "tls"
	}
	_, q, _ := strings.Cut(uri, "?")
	for _, kv := range strings.Split(q, "&") {
		if v, ok := strings.CutPrefix(kv, "transport="); ok {
			return strings.ToLower(v)
		}
	}
	return "udp"
}

// Path reports the ICE candidate pair in use: the local candidate's type
// ("host", "srflx", "relay"), or "" before ICE has chosen one.
func (a *Attendee) Path() string {
	if a.tx == nil || a.tx.Transport() == nil {
		return ""
	}
	pair, err := a.tx.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil {
		return ""
	}
	return pair.Local.Typ.String()
}

// ImpairStats returns what the impairment did so far (zero without one).
func (a *Attendee) ImpairStats() ImpairStats {
	if a.impair == nil {
		return ImpairStats{}
	}
	return a.impair.snapshot()
}
