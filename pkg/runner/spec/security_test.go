package spec

import (
	"errors"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/runner/apparmor"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestSecurityOpts(t *testing.T) {
	img := ocispec.ImageConfig{Cmd: []string{"true"}}
	tests := []struct {
		name       string
		privileged bool
		opts       []string
		profile    string
		nnp        bool
		seccomp    bool
		err        error
	}{
		{"defaults", false, nil, apparmor.Default, true, true, nil},
		{"privileged", true, nil, "", false, false, nil},
		{"apparmor profile", false, []string{"apparmor=mine"}, "mine", true, true, nil},
		{"apparmor unconfined", false, []string{"apparmor=unconfined"}, "", true, true, nil},
		{"no-new-privileges=false", false, []string{"no-new-privileges=false"}, apparmor.Default, false, true, nil},
		{"no-new-privileges:true", true, []string{"no-new-privileges:true"}, "", true, false, nil},
		{"bare no-new-privileges", true, []string{"no-new-privileges"}, "", true, false, nil},
		{"seccomp unconfined", false, []string{"seccomp=unconfined"}, apparmor.Default, true, false, nil},
		{"seccomp missing file", false, []string{"seccomp=/no/such.json"}, "", false, false, ErrInvalidOption},
		{"seccomp moby's profile", false, []string{"seccomp=../seccomp/testdata/moby-default.json"}, apparmor.Default, true, true, nil},
		{"unknown", false, []string{"label=disable"}, "", false, false, ErrInvalidOption},
		{"bad bool", false, []string{"no-new-privileges=maybe"}, "", false, false, ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Build(img, t.TempDir(), Options{Privileged: tt.privileged, SecurityOpt: tt.opts})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if s.Process.ApparmorProfile != tt.profile || s.Process.NoNewPrivileges != tt.nnp || (s.Linux.Seccomp != nil) != tt.seccomp {
				t.Errorf("profile %q nnp %v seccomp %v; want %q %v %v", s.Process.ApparmorProfile, s.Process.NoNewPrivileges, s.Linux.Seccomp != nil, tt.profile, tt.nnp, tt.seccomp)
			}
		})
	}
}
