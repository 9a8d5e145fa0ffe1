// Package layers runs one job per image layer in parallel, where job i may
// need the jobs below it to be done first (an overlay-form layer that
// hardlinks to a lower file, or lacks a parent directory). A job that must
// wait gives its slot back while it waits, so the jobs it waits for can run.
// Package snapshot (overlay form) and package rootfs (flat form) use it.
package layers
