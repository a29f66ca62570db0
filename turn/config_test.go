package turn

import (
	"errors"
	"runtime"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "confab" || c.ListenUDP != "127.0.0.1:3478" || c.UDPSockets != runtime.NumCPU() ||
		c.RelayIP != "127.0.0.1" || c.RelayPortMin != 49152 || c.RelayPortMax != 65535 ||
		c.MaxAllocationsPerUser != 12 || c.MaxAllocations != 10000 || c.AllowPrivatePeers || len(c.AllowedPeers) != 0 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestConfigInvalid(t *testing.T) {
	for name, c := range map[string]Config{
		"listen host name":    {ListenUDP: "localhost:3478"},
		"tcp without port":    {ListenTCP: "127.0.0.1"},
		"udp on ipv6":         {ListenUDP: "[::1]:3478"},
		"cert without key":    {CertFile: "c.pem"},
		"relay ip v6":         {RelayIP: "::1"},
		"relay ip wildcard":   {RelayIP: "0.0.0.0"},
		"relay ip garbage":    {RelayIP: "relay"},
		"port range reversed": {RelayPortMin: 60000, RelayPortMax: 50000},
		"nothing listens":     {DisableUDP: true, DisableTCP: true},
		"bad prefix":          {AllowedPeers: []Peer{{}}},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := New(Config{ListenUDP: "127.0.0.1:0"}, Params{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New without a secret: err = %v, want ErrInvalidConfig", err)
	}
}
