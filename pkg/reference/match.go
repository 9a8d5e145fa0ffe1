package reference

import "strings"

// The grammar checks below are written out by hand rather than as package
// level regexps: every ctr-lite process (the re-executed container init
// too) would otherwise compile them at start-up. match_test.go checks them
// against the docker grammar's regexps.

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }

// validComponent reports whether s is a path component: lowercase
// alphanumerics joined by ".", "_", "__" or runs of "-"
// (^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$).
func validComponent(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); {
		if isLowerAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isLowerAlnum(s[j]) {
			j++
		}
		switch sep := s[i:j]; {
		case sep == "." || sep == "_" || sep == "__":
		case allByte(sep, '-'):
		default:
			return false
		}
		i = j
	}
	return true
}

func allByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != b {
			return false
		}
	}
	return true
}

// validTag reports whether s is a tag (^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$).
func validTag(s string) bool {
	if s == "" || len(s) > 128 || !(isAlnum(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validHost reports whether s is a registry host: domain labels or an IPv6
// literal in brackets, with an optional port of one to five digits.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	host, port := s, ""
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 2 {
			return false
		}
		for i := 1; i < end; i++ {
			if c := s[i]; !isHex(c) && c != ':' && c != '.' {
				return false
			}
		}
		host, port = "", s[end+1:]
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i:]
	}
	if port != "" {
		if port[0] != ':' || len(port) < 2 || len(port) > 6 {
			return false
		}
		for i := 1; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	if s[0] == '[' {
		return true
	}
	return validDomain(host)
}

// validDomain: labels joined by "."; a label is alphanumerics and "-",
// neither starting nor ending with "-".
func validDomain(s string) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; !isAlnum(c) && c != '-' {
				return false
			}
			continue
		}
		label := s[start:i]
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
