package inspect

import (
	"fmt"
	"path"
	"strings"
)

// Glob matches slash-separated paths. A leading "/" on the pattern or the
// path is ignored. Each pattern segment is a path.Match pattern (*, ?,
// [...] within one segment), except "**", which matches any number of
// segments, zero included: "**/id_rsa" matches "/id_rsa" and
// "/home/u/.ssh/id_rsa"; "usr/**" matches "/usr" and all below it.
type Glob struct {
	segs []string
}

// CompileGlob checks a pattern once.
func CompileGlob(pattern string) (*Glob, error) {
	p := strings.Trim(pattern, "/")
	segs := strings.Split(p, "/")
	if p == "" {
		segs = nil
	}
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	return &Glob{segs: segs}, nil
}

// Match reports whether the path matches.
func (g *Glob) Match(p string) bool {
	p = strings.Trim(p, "/")
	var parts []string
	if p != "" {
		parts = strings.Split(p, "/")
	}
	return matchSegs(g.segs, parts)
}

func matchSegs(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(parts); i++ {
				if matchSegs(pat, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
