package network

import "testing"

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
		bad  bool
	}{
		{in: "8080:80", want: Port{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		{in: "127.0.0.1:8080:80/udp", want: Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "udp"}},
		{in: "[::1]:8080:80/TCP", want: Port{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		{in: "80", bad: true},
		{in: "0:80", bad: true},
		{in: "8080:70000", bad: true},
		{in: "8080:80/sctp", bad: true},
		{in: "host:8080:80", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePort(tc.in)
			if tc.bad {
				if err == nil {
					t.Errorf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if back, err := ParsePort(got.String()); err != nil || back != got {
				t.Errorf("String %q does not parse back: %+v %v", got.String(), back, err)
			}
		})
	}
}
