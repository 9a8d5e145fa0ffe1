package launch

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/ctrlite/ctr-lite/pkg/container"
	"github.com/ctrlite/ctr-lite/pkg/dataroot"
	"github.com/ctrlite/ctr-lite/pkg/errdefs"
	"github.com/ctrlite/ctr-lite/pkg/runner"
)

// Exec refuses, with 125 and an error kind the caller can test, what it
// cannot enter. (Entering containers is tested in pkg/runner and end to end.)
func TestExecRefuses(t *testing.T) {
	ctx := context.Background()
	root, err := dataroot.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs := container.NewStore(root)
	if _, err := cs.Create(ctx, container.Container{Name: "created"}); err != nil {
		t.Fatal(err)
	}
	ex, err := cs.Create(ctx, container.Container{Name: "exited"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SetExited(ctx, ex.ID, 0); err != nil {
		t.Fatal(err)
	}
	// A running record with no saved spec (as one `run --runtime runc` makes).
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	rt, err := cs.Create(ctx, container.Container{Name: "nospec"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SetRunning(ctx, rt.ID, sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want error
	}{
		{"nosuch", errdefs.ErrNotFound},
		{"created", container.ErrNotRunning},
		{"exited", container.ErrNotRunning},
		{"nospec", errdefs.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			code, err := Exec(ctx, cs, ExecOptions{Container: tc.ref, Args: []string{"true"}}, runner.Stdio{})
			var xe *errdefs.ExitError
			if code != 125 || !errors.As(err, &xe) || xe.Code != 125 || !errors.Is(err, tc.want) {
				t.Errorf("exec %s: %d %v, want 125 and %v", tc.ref, code, err, tc.want)
			}
		})
	}
}
