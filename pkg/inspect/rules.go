package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Rules are the `check` gate's limits. An unset (nil, false or empty)
// rule is not checked. The JSON and YAML field names are stable.
type Rules struct {
	// MaxSize caps the image size: the sum of the compressed layer blobs
	// (manifest sizes), or with Uncompressed the sum of the uncompressed
	// layer streams (tar bytes).
	MaxSize      *Size `json:"max_size,omitempty" yaml:"max_size,omitempty"`
	Uncompressed bool  `json:"uncompressed,omitempty" yaml:"uncompressed,omitempty"`
	// MaxLayers caps the number of layers in the manifest.
	MaxLayers *int `json:"max_layers,omitempty" yaml:"max_layers,omitempty"`
	// MinEfficiency is the lowest dive efficiency score allowed, a
	// fraction from 0 to 1 (0.95 = 95 %).
	MinEfficiency *float64 `json:"min_efficiency,omitempty" yaml:"min_efficiency,omitempty"`
	// MaxWastedBytes caps dive's wasted bytes.
	MaxWastedBytes *Size `json:"max_wasted_bytes,omitempty" yaml:"max_wasted_bytes,omitempty"`
	// MaxWastedPercent caps wasted bytes as a percentage (0 to 100 and
	// more) of the bytes above the first layer (dive's user wasted percent).
	MaxWastedPercent *float64 `json:"max_wasted_percent,omitempty" yaml:"max_wasted_percent,omitempty"`
	// NoRootUser fails when the config User is empty, "0", "root", or
	// names user 0 or root with a group ("0:0", "root:wheel").
	NoRootUser bool `json:"no_root_user,omitempty" yaml:"no_root_user,omitempty"`
	// Forbid fails for each glob (see Glob) that matches a path of the
	// merged tree: "**/id_rsa", "**/.env".
	Forbid []string `json:"forbid,omitempty" yaml:"forbid,omitempty"`
	// NoNewSetuid fails when a setuid or setgid file of the merged tree is
	// not a setuid or setgid file at the same path in the baseline.
	NoNewSetuid bool `json:"no_new_setuid,omitempty" yaml:"no_new_setuid,omitempty"`
	// MaxGrowth caps the image size minus the baseline's size, measured
	// as MaxSize is (compressed unless Uncompressed).
	MaxGrowth *Size `json:"max_growth,omitempty" yaml:"max_growth,omitempty"`
}

// ParseRules reads rules from YAML or JSON; unknown fields are errors
// that name their line.
func ParseRules(data []byte) (Rules, error) {
	var r Rules
	if err := checkFields(data); err != nil {
		return Rules{}, err
	}
	if err := decodeRules(data, &r); err != nil {
		return Rules{}, fmt.Errorf("%w: %v", ErrBadRules, err)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// decodeRules reads YAML (JSON is YAML too) into r through its JSON form,
// so the JSON field names and Size's UnmarshalJSON apply to both.
func decodeRules(data []byte, r *Rules) error {
	var v any
	if err := yamlv3.Unmarshal(data, &v); err != nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(r)
}

// checkFields reports a syntax error or the first unknown top-level field
// of a rules document with its line, in YAML's terms (a JSON document is
// YAML too).
func checkFields(data []byte) error {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: rules file: %v", ErrBadRules, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty: no rules
	}
	m := doc.Content[0]
	if m.Kind != yamlv3.MappingNode {
		return fmt.Errorf("%w: rules file line %d: want a mapping of rule names to limits", ErrBadRules, m.Line)
	}
	known := map[string]bool{}
	t := reflect.TypeFor[Rules]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; !known[k.Value] {
			return fmt.Errorf("%w: rules file line %d: unknown field %s", ErrBadRules, k.Line, k.Value)
		}
	}
	return nil
}

// LoadRules reads a YAML or JSON rules file.
func LoadRules(path string) (Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("load rules: %w", err)
	}
	r, err := ParseRules(b)
	if err != nil {
		return Rules{}, fmt.Errorf("load rules %s: %w", path, err)
	}
	return r, nil
}

// Validate checks the rules' values.
func (r Rules) Validate() error {
	if r.MaxLayers != nil && *r.MaxLayers < 0 {
		return fmt.Errorf("%w: max_layers %d is negative", ErrBadRules, *r.MaxLayers)
	}
	if r.MinEfficiency != nil && (*r.MinEfficiency < 0 || *r.MinEfficiency > 1) {
		return fmt.Errorf("%w: min_efficiency %g is not a fraction from 0 to 1", ErrBadRules, *r.MinEfficiency)
	}
	if r.MaxWastedPercent != nil && *r.MaxWastedPercent < 0 {
		return fmt.Errorf("%w: max_wasted_percent %g is negative", ErrBadRules, *r.MaxWastedPercent)
	}
	for _, g := range r.Forbid {
		if _, err := CompileGlob(g); err != nil {
			return fmt.Errorf("%w: forbid: %v", ErrBadRules, err)
		}
	}
	return nil
}

// Empty reports whether no rule is set (Uncompressed alone checks nothing).
func (r Rules) Empty() bool {
	return r.MaxSize == nil && r.MaxLayers == nil && r.MinEfficiency == nil && r.MaxWastedBytes == nil &&
		r.MaxWastedPercent == nil && !r.NoRootUser && len(r.Forbid) == 0 && !r.NoNewSetuid && r.MaxGrowth == nil
}

// NeedsBaseline reports whether a rule compares against a baseline image.
func (r Rules) NeedsBaseline() bool { return r.NoNewSetuid || r.MaxGrowth != nil }
