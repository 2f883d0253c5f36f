package main

import (
	"fmt"
	"strings"

	"github.com/itwin-export/itwin-export/wrapper"
)

// taskErrorText describes a task error in one line: code, description,
// whether the user can fix it, knowledge-base link and task id.
func taskErrorText(t wrapper.TaskFailure) string {
	e := t.Error
	var b strings.Builder
	b.WriteString(deref(e.ErrorCode))
	if b.Len() == 0 {
		b.WriteString("(no code)")
	}
	if d := deref(e.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	} else if m := deref(e.Message); m != "" {
		fmt.Fprintf(&b, ": %s", m)
	}
	var notes []string
	if t.TaskID != "" {
		notes = append(notes, "task "+t.TaskID)
	}
	if e.CanUserFix != nil {
		notes = append(notes, fmt.Sprintf("user can fix: %t", *e.CanUserFix))
	}
	if kb := deref(e.KbArticleLink); kb != "" {
		notes = append(notes, "see "+kb)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	return b.String()
}
