package main

import (
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/pkg/network"
)

// TestHumanDuration: ps prints durations as docker does.
func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{300 * time.Millisecond, "Less than a second"},
		{time.Second, "1 second"},
		{3 * time.Second, "3 seconds"},
		{90 * time.Second, "About a minute"},
		{5 * time.Minute, "5 minutes"},
		{time.Hour, "About an hour"},
		{3 * time.Hour, "3 hours"},
		{3 * 24 * time.Hour, "3 days"},
		{15 * 24 * time.Hour, "2 weeks"},
		{90 * 24 * time.Hour, "3 months"},
		{800 * 24 * time.Hour, "2 years"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := humanDuration(tc.d); got != tc.want {
				t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

// TestPortsColumn: ps shows published ports as docker does.
func TestPortsColumn(t *testing.T) {
	tests := []struct {
		ports []network.Port
		want  string
	}{
		{nil, ""},
		{[]network.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{[]network.Port{{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"}, {HostIP: "::1", HostPort: 8443, ContainerPort: 443, Protocol: "tcp"}},
			"127.0.0.1:5353->53/udp, [::1]:8443->443/tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := portsColumn(tc.ports); got != tc.want {
				t.Errorf("portsColumn(%+v) = %q, want %q", tc.ports, got, tc.want)
			}
		})
	}
}
