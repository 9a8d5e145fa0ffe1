package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctrlite/ctr-lite/internal/testutil"
	"github.com/ctrlite/ctr-lite/pkg/content"
)

// maxChildRSS is the peak resident memory any pull, unpack or inspect may
// reach, whatever the registry sends.
const maxChildRSS = 128 << 20

// binResult is what one run of the real binary did.
type binResult struct {
	result
	rss  int64         // peak resident set size in bytes (getrusage ru_maxrss)
	hung bool          // still running at the deadline (then killed)
	took time.Duration // from start to exit
}

// runBin runs the built binary with the env's root and waits at most
// limit; a process still running then is killed and reported as hung.
func (e *env) runBin(limit time.Duration, args ...string) binResult {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := e.bin(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	r := binResult{result: result{out: out.String(), err: errb.String()}, took: time.Since(t0)}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rss = ru.Maxrss << 10 // Linux reports KiB
		}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.code = -1
		r.err += "\n" + err.Error()
	}
	r.hung = ctx.Err() != nil
	return r
}

// oneLineError checks that a failed command printed one line of error
// that contains one of want (case-insensitive).
func oneLineError(t *testing.T, r result, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.err)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("error should be one line: %q", r.err)
		return
	}
	if len(want) == 0 {
		return
	}
	low := strings.ToLower(msg)
	for _, w := range want {
		if strings.Contains(low, strings.ToLower(w)) {
			return
		}
	}
	t.Errorf("error %q names none of %q", msg, want)
}

// storedBlobs lists the files in the store's blobs/sha256 directory.
func storedBlobs(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "content", "blobs", "sha256"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

type outcome int

const (
	mustSucceed outcome = iota
	mustFail
	either // success after retries and a clear failure are both right
)

// faultCase is one misbehaving registry and what the client must do.
type faultCase struct {
	name   string
	faults func(big, cfg string) []testutil.Fault
	want   outcome
	msg    []string      // the failure names one of these ("BIG" and "CFG" stand for the digests)
	limit  time.Duration // the command must have ended by then
	check  func(t *testing.T, p *testutil.FaultProxy, big string)
}

func faultList(fs ...testutil.Fault) func(string, string) []testutil.Fault {
	return func(string, string) []testutil.Fault { return fs }
}

// pullFaultCases go beyond TestPullThroughFaults: wrong lengths, stalls,
// retry storms that never end, repeated cuts, bad config and manifest
// bytes, absurd lengths for small documents.
func pullFaultCases() []faultCase {
	blob := func(d string) string { return "/blobs/" + d }
	return []faultCase{
		{name: "Content-Length too long on the big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultWrongLen, Method: "GET", Path: blob(big), Delta: 1000, Times: 1}}
			}},
		{name: "Content-Length too short on the big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultWrongLen, Method: "GET", Path: blob(big), Delta: -1000, Times: 1}}
			}},
		{name: "Content-Length wrong on every blob", want: mustFail, msg: []string{"sha256:"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultWrongLen, Method: "GET", Path: "/blobs/", Delta: -1})},
		{name: "Content-Length short on the manifest", want: either, msg: []string{"manifest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultWrongLen, Method: "GET", Path: "/manifests/", Delta: -10})},
		{name: "Content-Length long on the manifest", want: either, msg: []string{"manifest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultWrongLen, Method: "GET", Path: "/manifests/", Delta: 10})},
		{name: "3s stall on every blob", want: mustSucceed,
			faults: faultList(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/blobs/", After: 1 << 20, Duration: 3 * time.Second})},
		{name: "stall forever once mid big layer resumes after the idle timeout", want: mustSucceed, limit: 4 * time.Minute,
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultStall, Method: "GET", Path: blob(big), After: 4 << 20, Times: 1}}
			},
			check: func(t *testing.T, p *testutil.FaultProxy, big string) {
				gets := p.BlobGets(big)
				if len(gets) < 2 || gets[len(gets)-1].Range == "" {
					t.Errorf("want the stalled GET then a ranged GET; got %+v", gets)
				}
			}},
		{name: "manifest body stalls forever", want: mustFail, limit: 4 * time.Minute,
			msg:    []string{"stall", "timeout", "no response", "deadline", "no data"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/manifests/"})},
		{name: "503 storm on the big layer exhausts retries", want: mustFail, msg: []string{"503"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultStatus, Path: blob(big), Status: 503}}
			}},
		{name: "503 storm on manifests exhausts retries", want: mustFail, msg: []string{"503"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultStatus, Path: "/manifests/", Status: 503})},
		{name: "429 storm with Retry-After exhausts retries", want: mustFail, msg: []string{"429", "too many"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultStatus, Path: "/blobs/", Status: 429, RetryAfter: "2"})},
		{name: "500 on every request", want: mustFail, msg: []string{"500"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultStatus, Path: "/v2/", Status: 500})},
		{name: "connection cut after 1 MiB on every GET of the big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultCut, Method: "GET", Path: blob(big), After: 1 << 20}}
			}},
		{name: "flipped byte in the config", want: mustFail, msg: []string{"CFG"},
			faults: func(_, cfg string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultFlipByte, Method: "GET", Path: blob(cfg), After: 10}}
			}},
		{name: "flipped byte in the manifest", want: mustFail, msg: []string{"manifest", "digest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultFlipByte, Method: "GET", Path: "/manifests/", After: 40})},
		{name: "5 GB Content-Length for the manifest", want: mustFail, msg: []string{"manifest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultHugeLen, Method: "GET", Path: "/manifests/"})},
		{name: "5 GB Content-Length for the config", want: mustFail, msg: []string{"CFG"},
			faults: func(_, cfg string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultHugeLen, Method: "GET", Path: blob(cfg)}}
			}},
	}
}

// inspectFaultCases run `inspect layers --remote`, which streams every
// layer to count files, through faults; nothing may be stored.
func inspectFaultCases() []faultCase {
	blob := func(d string) string { return "/blobs/" + d }
	return []faultCase{
		{name: "no fault", want: mustSucceed, faults: faultList()},
		{name: "flipped byte in the big layer", want: mustFail, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultFlipByte, Method: "GET", Path: blob(big), After: 1 << 20}}
			}},
		{name: "5 GB Content-Length for the big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultHugeLen, Method: "GET", Path: blob(big)}}
			}},
		{name: "Content-Length too short on the big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultWrongLen, Method: "GET", Path: blob(big), Delta: -1000}}
			}},
		{name: "3s stall on every blob", want: mustSucceed,
			faults: faultList(testutil.Fault{Kind: testutil.FaultStall, Method: "GET", Path: "/blobs/", After: 1 << 20, Duration: 3 * time.Second})},
		{name: "cut once mid big layer", want: either, msg: []string{"BIG"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultCut, Method: "GET", Path: blob(big), After: 2 << 20, Times: 1}}
			}},
		{name: "503 storm on the big layer", want: mustFail, msg: []string{"503"},
			faults: func(big, _ string) []testutil.Fault {
				return []testutil.Fault{{Kind: testutil.FaultStatus, Path: blob(big), Status: 503}}
			}},
		{name: "manifest naming a wrong layer digest", want: mustFail, msg: []string{"digest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultBadLayer, Method: "GET", Path: "/manifests/"})},
		{name: "self-referencing index", want: mustFail, msg: []string{"manifest", "index"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultSelfIndex, Method: "GET", Path: "/manifests/"})},
		{name: "5 GB Content-Length for the manifest", want: mustFail, msg: []string{"manifest"},
			faults: faultList(testutil.Fault{Kind: testutil.FaultHugeLen, Method: "GET", Path: "/manifests/"})},
	}
}

func TestFaultyRegistryPull(t *testing.T) {
	runFaultCases(t, pullFaultCases(), "pull")
}

func TestFaultyRegistryInspectRemote(t *testing.T) {
	runFaultCases(t, inspectFaultCases(), "inspect", "layers", "--remote")
}

func runFaultCases(t *testing.T, cases []faultCase, args ...string) {
	reg, _ := corpusRegistry(t, testutil.RegistryOptions{})
	big := bigLayer(t)
	cfgName, err := testutil.Image(t, testutil.Debian).ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cfgName.String()
	var handled atomic.Int32
	t.Cleanup(func() {
		t.Logf("fault cases handled (%s): %d of %d", strings.Join(args, " "), handled.Load(), len(cases))
	})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testutil.StartFaultProxy(t, reg)
			for _, f := range tt.faults(big, cfg) {
				p.Add(f)
			}
			e := newEnv(t)
			limit := tt.limit
			if limit == 0 {
				limit = 2 * time.Minute
			}
			ref := p.Host + "/debian:bookworm-2layer"
			r := e.runBin(limit, append(append([]string{}, args...), ref)...)
			if r.hung {
				t.Fatalf("ctr-lite %s hung for %s: %s", strings.Join(args, " "), limit, r.result)
			}
			switch {
			case tt.want == mustSucceed && r.code != 0:
				t.Fatalf("want success: %s", r.result)
			case tt.want == mustFail && r.code == 0:
				t.Fatalf("want a clear failure, it succeeded: %s", r.result)
			}
			if r.code != 0 {
				var want []string
				for _, m := range tt.msg {
					want = append(want, strings.NewReplacer("BIG", big, "CFG", cfg).Replace(m))
				}
				oneLineError(t, r.result, want...)
				t.Logf("error: %s", strings.TrimSpace(r.err))
			}
			if r.rss > maxChildRSS {
				t.Errorf("peak RSS %d MiB, limit %d MiB", r.rss>>20, maxChildRSS>>20)
			}
			t.Logf("exit %d, peak RSS %.1f MiB, %d bytes served", r.code, float64(r.rss)/(1<<20), p.BytesServed())
			if args[0] == "inspect" {
				if b := storedBlobs(t, e.root); len(b) != 0 {
					t.Errorf("inspect --remote stored blobs: %v", b)
				}
			} else if r.code != 0 {
				st, err := content.Open(e.root)
				if err != nil {
					t.Fatal(err)
				}
				if names, _ := st.List(context.Background()); len(names) != 0 {
					t.Errorf("failed pull left names %v", names)
				}
			}
			e.fsckClean() // never a stored blob whose bytes do not match its name
			if tt.check != nil {
				tt.check(t, p, big)
			}
			if !t.Failed() {
				handled.Add(1)
			}
		})
	}
}
