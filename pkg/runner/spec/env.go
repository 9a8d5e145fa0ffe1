package spec

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// buildEnv merges image env, env files and -e flags; later values of the
// same key win, order of first appearance is kept.
func buildEnv(image, files, flags []string) ([]string, error) {
	env := append([]string(nil), image...)
	for _, f := range files {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		for _, kv := range lines {
			env = mergeEnv(env, kv)
		}
	}
	for _, kv := range flags {
		env = mergeEnv(env, kv)
	}
	return env, nil
}

// MergeEnv returns env with each K=V of kvs set over it, as -e does for
// run (a bare K takes the caller's value, or is skipped when unset): what
// exec -e does to the container's environment. env is not modified.
func MergeEnv(env []string, kvs ...string) []string {
	out := append([]string(nil), env...)
	for _, kv := range kvs {
		out = mergeEnv(out, kv)
	}
	return out
}

// mergeEnv sets K=V; a bare K takes the caller's value, or is skipped when
// unset (docker's behaviour).
func mergeEnv(env []string, kv string) []string {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		val, set := os.LookupEnv(k)
		if !set {
			return env
		}
		v = val
	}
	return envSet(env, k, v)
}

func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _ := strings.Cut(line, "="); strings.ContainsAny(k, " \t") || k == "" {
			return nil, fmt.Errorf("%w: env file %s: bad line %q", ErrInvalidOption, path, line)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return out, nil
}

func envGet(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func envSet(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + val
			return env
		}
	}
	return append(env, key+"="+val)
}
