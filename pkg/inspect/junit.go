package inspect

import (
	"encoding/xml"
	"fmt"
	"io"
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

// WriteJUnit writes the report as JUnit XML: one testsuite named after the
// image, one testcase per rule (classname "ctr-lite.check"; a forbid rule
// is named "forbid <glob>"), a failed rule carrying a <failure>.
func WriteJUnit(w io.Writer, rep CheckReport) error {
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
