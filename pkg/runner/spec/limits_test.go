package spec

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseUlimits(t *testing.T) {
	tests := []struct {
		in   []string
		want []specs.POSIXRlimit
		err  error
	}{
		{[]string{"nofile=1024:2048"}, []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}}, nil},
		{[]string{"nproc=50"}, []specs.POSIXRlimit{{Type: "RLIMIT_NPROC", Soft: 50, Hard: 50}}, nil},
		{[]string{"core=-1"}, []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: ^uint64(0), Hard: ^uint64(0)}}, nil},
		{[]string{"nofile=2048:1024"}, nil, ErrInvalidOption},
		{[]string{"bogus=1"}, nil, ErrInvalidOption},
		{[]string{"nofile"}, nil, ErrInvalidOption},
		{[]string{"nofile=x"}, nil, ErrInvalidOption},
	}
	for _, tt := range tests {
		got, err := parseUlimits(tt.in)
		if !errors.Is(err, tt.err) || len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("parseUlimits(%v) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
