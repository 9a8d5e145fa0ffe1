package inspect

// The encoding/xml JUnit writer, kept here as the reference for
// TestJUnitMatchesEncodingXML.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnitXML is the encoding/xml writer WriteJUnit replaced: the
// reference it is compared with.
func writeJUnitXML(w io.Writer, rep CheckReport) error {
	suite := junitSuite{Name: rep.Image, Tests: len(rep.Results), Failures: rep.Failed(), Time: "0"}
	for _, r := range rep.Results {
		name := r.Rule
		if r.Rule == "forbid" {
			name += " " + show(r.Limit)
		}
		c := junitCase{Name: name, Classname: "ctr-lite.check", Time: "0"}
		if r.Pass {
			c.SystemOut = r.Message
		} else {
			c.Failure = &junitFailure{Message: r.Message, Type: r.Rule,
				Text: fmt.Sprintf("rule %s: value %s, limit %s: %s", r.Rule, show(r.Value), show(r.Limit), r.Message)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: "ctr-lite check", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func TestJUnitMatchesEncodingXML(t *testing.T) {
	odd := "a\"b'c&d<e>f\tg\nh\ri\x00j\x1fk\xffl\uFFFDm\U0001F600n\u2028"
	reports := map[string]CheckReport{
		"empty":   {Image: "x"},
		"pass":    {Image: "reg/app:1", Results: []CheckResult{{Rule: "max_layers", Value: int64(2), Limit: int64(5), Pass: true, Message: "2 layers"}}},
		"silent":  {Image: "reg/app:1", Results: []CheckResult{{Rule: "max_layers", Pass: true}}},
		"failing": {Image: odd, Results: []CheckResult{{Rule: "forbid", Value: int64(1), Limit: odd, Message: odd}, {Rule: odd, Pass: true, Message: odd}}},
	}
	for name, rep := range reports {
		t.Run(name, func(t *testing.T) {
			var got, want bytes.Buffer
			if err := WriteJUnit(&got, rep); err != nil {
				t.Fatal(err)
			}
			if err := writeJUnitXML(&want, rep); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("WriteJUnit:\n%s\nencoding/xml:\n%s", got.String(), want.String())
			}
		})
	}
}
