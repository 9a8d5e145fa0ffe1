package userns

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Range is a subordinate id range: ids Start..Start+Count-1 on the host.
type Range struct {
	Start, Count int
}

// subRange finds the first range of the user (by name or numeric id) in
// file (/etc/subuid or /etc/subgid). ok is false when the user has none.
func subRange(file string, u *user.User) (Range, bool, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return Range{}, false, nil
	}
	if err != nil {
		return Range{}, false, fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 || (parts[0] != u.Username && parts[0] != u.Uid) {
			continue
		}
		start, err1 := strconv.Atoi(parts[1])
		count, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			continue
		}
		return Range{Start: start, Count: count}, true, nil
	}
	if err := sc.Err(); err != nil {
		return Range{}, false, fmt.Errorf("read %s: %w", file, err)
	}
	return Range{}, false, nil
}
