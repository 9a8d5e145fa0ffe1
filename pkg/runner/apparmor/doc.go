// Package apparmor confines containers with AppArmor where the host has it
// enabled: a default profile (ctr-lite-default, written here with the
// rules of docker's docker-default: no writes below /proc and /sys outside
// what a container needs, no mount, no ptrace of processes outside its
// profile) is loaded with Debian's apparmor_parser when first needed, and
// the container's init asks for it on exec. Where AppArmor is absent
// nothing changes and nothing is printed.
package apparmor
