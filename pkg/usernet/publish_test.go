package usernet

import (
	"slices"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/network"
)

func TestPastaArgs(t *testing.T) {
	tests := []struct {
		name  string
		ports []network.Port
		want  []string
	}{
		{"none", nil, []string{"-t", "none", "-u", "none", "-T", "none", "-U", "none"}},
		{"tcp and udp", []network.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Protocol: "udp"}},
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
