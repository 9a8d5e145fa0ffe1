package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipfFailsUnderCI runs a test that calls Skipf in a child process:
// it skips without CI, and fails with CI=true.
func TestSkipfFailsUnderCI(t *testing.T) {
	if os.Getenv("TESTUTIL_SKIPF_CHILD") == "1" {
		Skipf(t, "tool %s missing", "frob")
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipfFailsUnderCI$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTUTIL_SKIPF_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "tool frob missing")):
			t.Errorf("without CI: %v\n%s", err, out)
		case ci == "true" && (err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "CI=true and the test cannot run: tool frob missing")):
			t.Errorf("with CI=true: %v\n%s", err, out)
		}
	}
}
