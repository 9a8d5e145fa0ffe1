package cgroups

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rule is one device cgroup rule in numbers: a type ('a', 'b' or 'c'),
// major and minor (-1 for any) and an access mask (accRead|accWrite|accMknod).
type rule struct {
	allow        bool
	typ          byte
	major, minor int64
	access       uint32
}

// The access bits of the kernel's struct bpf_cgroup_dev_ctx.
const (
	accMknod = 1
	accRead  = 2
	accWrite = 4
)

// parseRule checks a spec device rule and turns it into numbers.
func parseRule(d specs.LinuxDeviceCgroup) (rule, error) {
	r := rule{allow: d.Allow, typ: 'a', major: -1, minor: -1}
	switch d.Type {
	case "", "a":
	case "b", "c":
		r.typ = d.Type[0]
	default:
		return r, fmt.Errorf("device rule: bad type %q", d.Type)
	}
	if d.Major != nil {
		r.major = *d.Major
	}
	if d.Minor != nil {
		r.minor = *d.Minor
	}
	if r.major < -1 || r.minor < -1 || r.major > 0xffffffff || r.minor > 0xffffffff {
		return r, fmt.Errorf("device rule: bad number %d:%d", r.major, r.minor)
	}
	access := d.Access
	if access == "" {
		access = "rwm"
	}
	for _, a := range access {
		switch a {
		case 'r':
			r.access |= accRead
		case 'w':
			r.access |= accWrite
		case 'm':
			r.access |= accMknod
		default:
			return r, fmt.Errorf("device rule: bad access %q", d.Access)
		}
	}
	return r, nil
}

// String is the rule in devices.allow/devices.deny syntax, "c 1:3 rwm".
func (r rule) String() string {
	num := func(n int64) string {
		if n < 0 {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	acc := ""
	for _, b := range []struct {
		bit uint32
		c   string
	}{{accRead, "r"}, {accWrite, "w"}, {accMknod, "m"}} {
		if r.access&b.bit != 0 {
			acc += b.c
		}
	}
	return fmt.Sprintf("%c %s:%s %s", r.typ, num(r.major), num(r.minor), acc)
}

// writeDeviceRules applies the rules in order to a v1 devices cgroup.
func writeDeviceRules(dir string, devs []specs.LinuxDeviceCgroup) error {
	for _, d := range devs {
		r, err := parseRule(d)
		if err != nil {
			return err
		}
		file := "devices.deny"
		if r.allow {
			file = "devices.allow"
		}
		if err := write(dir, file, r.String()); err != nil {
			return err
		}
	}
	return nil
}
