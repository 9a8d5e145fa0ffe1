package usernet

import (
	"slices"
	"testing"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
		bad  bool
	}{
		{in: "8080:80", want: Port{Host: 8080, Container: 80, Proto: "tcp"}},
		{in: "127.0.0.1:8080:80/udp", want: Port{HostIP: "127.0.0.1", Host: 8080, Container: 80, Proto: "udp"}},
		{in: "[::1]:8443:443/tcp", want: Port{HostIP: "::1", Host: 8443, Container: 443, Proto: "tcp"}},
		{in: "80", bad: true},
		{in: "0:80", bad: true},
		{in: "8080:70000", bad: true},
		{in: "8080:80/sctp", bad: true},
		{in: "host:8080:80", bad: true},
		{in: "8000-8010:80", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePort(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParsePort(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePort(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPastaArgs(t *testing.T) {
	tests := []struct {
		name  string
		ports []Port
		want  []string
	}{
		{"none", nil, []string{"-t", "none", "-u", "none", "-T", "none", "-U", "none"}},
		{"tcp and udp", []Port{{Host: 8080, Container: 80, Proto: "tcp"}, {HostIP: "127.0.0.1", Host: 5353, Container: 53, Proto: "udp"}},
			[]string{"-t", "8080:80", "-u", "127.0.0.1/5353:53", "-T", "none", "-U", "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pastaArgs(tt.ports); !slices.Equal(got, tt.want) {
				t.Fatalf("pastaArgs = %q, want %q", got, tt.want)
			}
		})
	}
}
