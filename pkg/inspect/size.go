package inspect

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize parses a byte count: a plain number of bytes ("1048576",
// "12B"), or a number (decimals allowed) with a unit. KB, MB, GB, TB are
// decimal (1 MB = 1,000,000 bytes); KiB, MiB, GiB, TiB are binary (1 MiB
// = 1,048,576 bytes). Units are case-insensitive ("50mb" = "50MB") and may
// be separated from the number by spaces; "K", "M", "G", "T" alone are
// decimal too. Negative sizes are refused.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("%w: %q", ErrBadSize, s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%w: %q: unknown unit %q", ErrBadSize, s, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrBadSize, s)
	}
	b := v * mult
	if b > math.MaxInt64/2 {
		return 0, fmt.Errorf("%w: %q is too large", ErrBadSize, s)
	}
	return int64(math.Round(b)), nil
}

// Size is a byte count that reads from JSON or YAML either as a number of
// bytes or as a ParseSize string ("50MB").
type Size int64

// UnmarshalJSON accepts 123 or "50MB".
func (s *Size) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 {
			return fmt.Errorf("%w: %d", ErrBadSize, n)
		}
		*s = Size(n)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("%w: %s", ErrBadSize, b)
	}
	n, err := ParseSize(str)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}
