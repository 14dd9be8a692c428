package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// remoteRule is a rule as GET /api/v2/rules answers.
type remoteRule struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	Script  string `json:"script"`
	Order   int    `json:"order"`
	Stage   string `json:"stage"`
}

// defaultStage is the only stage latch runs rules at.
const defaultStage = "login_success"

func listRules(ctx context.Context, c *client) ([]remoteRule, error) {
	rules, err := getAll[remoteRule](ctx, c, "/api/v2/rules", "rules")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rules, func(a, b remoteRule) int {
		if a.Stage != b.Stage {
			return strings.Compare(a.Stage, b.Stage)
		}
		return a.Order - b.Order
	})
	return rules, nil
}

// ---------------------------------------------------------------------------------------
// latch rules list

func rulesList(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	if _, err := cmd.parse(args, "latch rules list [--output json]", 0); err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	rules, err := listRules(ctx, c)
	if err != nil {
		return err
	}
	if cmd.json() {
		if rules == nil {
			rules = []remoteRule{}
		}
		return writeJSON(cmd.stdout(), rules)
	}
	if len(rules) == 0 {
		fmt.Fprintln(cmd.stdout(), "no rules")
		return nil
	}
	tw := tabwriter.NewWriter(cmd.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tENABLED\tNAME\tID\tSTAGE")
	for _, r := range rules {
		fmt.Fprintf(tw, "%d\t%t\t%s\t%s\t%s\n", r.Order, r.Enabled, r.Name, r.ID, r.Stage)
	}
	return tw.Flush()
}

// ---------------------------------------------------------------------------------------
// latch rules pull DIR

func rulesPull(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	prune := cmd.fs.Bool("prune", false, "delete the files of rules that are no longer on latch")
	pos, err := cmd.parse(args, "latch rules pull DIR [--prune]", 1)
	if err != nil {
		return err
	}
	dir := pos[0]
	c, err := cmd.client()
	if err != nil {
		return err
	}
	rules, err := listRules(ctx, c)
	if err != nil {
		return err
	}
	written, err := writeRulesDir(dir, rules)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, r := range rules {
		names[r.Name] = true
	}
	wrote := map[string]bool{}
	for _, p := range written {
		wrote[p] = true
	}
	candidates, err := staleRuleFiles(dir, names)
	if err != nil {
		return err
	}
	var stale, pruned []string
	for _, p := range candidates {
		if wrote[p] {
			continue
		}
		if *prune {
			if err := os.Remove(p); err != nil {
				return err
			}
			pruned = append(pruned, p)
		} else {
			stale = append(stale, p)
		}
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), map[string]any{
			"dir": filepath.Join(dir, rulesSubdir), "rules": len(rules), "written": nonNil(written),
			"stale": nonNil(stale), "pruned": nonNil(pruned),
		})
	}
	fmt.Fprintf(cmd.stdout(), "pulled %d rules into %s\n", len(rules), filepath.Join(dir, rulesSubdir))
	for _, p := range pruned {
		fmt.Fprintf(cmd.stdout(), "removed %s (no such rule on latch)\n", p)
	}
	if len(stale) > 0 {
		fmt.Fprintf(env.Stderr, "warning: these files describe rules latch does not have; a push would create them (pull --prune deletes them):\n")
		for _, p := range stale {
			fmt.Fprintf(env.Stderr, "  %s\n", p)
		}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ---------------------------------------------------------------------------------------
// latch rules push DIR

// Plan actions.
const (
	actCreate    = "create"
	actUpdate    = "update"
	actDelete    = "delete"
	actUnchanged = "unchanged"
)

// ruleChange is one line of the plan.
type ruleChange struct {
	Action  string   `json:"action"`
	Name    string   `json:"name"`
	ID      string   `json:"id,omitempty"`
	Changes []string `json:"changes,omitempty"` // of an update: script, order, enabled
	// Order and Enabled are the rule's values after the push (before, for a delete); Order
	// is nil for a created rule that goes last.
	Order     *int   `json:"order,omitempty"`
	FromOrder *int   `json:"from_order,omitempty"`
	Enabled   *bool  `json:"enabled,omitempty"`
	Diff      string `json:"diff,omitempty"`

	local  *ruleFile
	remote *remoteRule
}

// rulePlan is what a push does, in the order it is shown.
type rulePlan struct {
	Changes []ruleChange
}

func (p rulePlan) count(action string) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == action {
			n++
		}
	}
	return n
}

// planRules matches local and remote rules by name and checks that the result is a valid
// set of rules: no two in one stage with the same order.
func planRules(local []ruleFile, remote []remoteRule) (rulePlan, error) {
	byName := map[string]*remoteRule{}
	for i := range remote {
		byName[remote[i].Name] = &remote[i]
	}
	var plan rulePlan
	type slot struct {
		stage string
		order int
	}
	final := map[slot]string{}
	claim := func(stage string, order int, name string) error {
		s := slot{stage, order}
		if other, ok := final[s]; ok {
			return fmt.Errorf("rules %q and %q would both have order %d: orders are unique", other, name, order)
		}
		final[s] = name
		return nil
	}
	seen := map[string]bool{}
	for i := range local {
		lf := &local[i]
		seen[lf.Name] = true
		stage := lf.Stage
		if stage == "" {
			stage = defaultStage
		}
		r, exists := byName[lf.Name]
		if !exists {
			ch := ruleChange{Action: actCreate, Name: lf.Name, Order: lf.Order, Enabled: lf.Enabled, local: lf}
			if ch.Enabled == nil {
				t := true
				ch.Enabled = &t
			}
			if lf.Order != nil {
				if err := claim(stage, *lf.Order, lf.Name); err != nil {
					return plan, err
				}
			}
			plan.Changes = append(plan.Changes, ch)
			continue
		}
		if stage != r.Stage {
			return plan, fmt.Errorf("%s: rule %q is at stage %s on latch; a rule's stage cannot change (delete the rule, push, then add it back)", lf.JSONPath, r.Name, r.Stage)
		}
		ch := ruleChange{Name: r.Name, ID: r.ID, local: lf, remote: r}
		order, enabled := r.Order, r.Enabled
		if lf.Script != r.Script {
			ch.Changes = append(ch.Changes, "script")
			ch.Diff = unifiedDiff("latch/"+ruleFileBase(r.Name)+".js", lf.ScriptPath, r.Script, lf.Script)
		}
		if lf.Order != nil && *lf.Order != r.Order {
			ch.Changes = append(ch.Changes, "order")
			from := r.Order
			ch.FromOrder, order = &from, *lf.Order
		}
		if lf.Enabled != nil && *lf.Enabled != r.Enabled {
			ch.Changes = append(ch.Changes, "enabled")
			enabled = *lf.Enabled
		}
		ch.Order, ch.Enabled = &order, &enabled
		ch.Action = actUnchanged
		if len(ch.Changes) > 0 {
			ch.Action = actUpdate
		}
		if err := claim(r.Stage, order, r.Name); err != nil {
			return plan, err
		}
		plan.Changes = append(plan.Changes, ch)
	}
	for i := range remote {
		r := &remote[i]
		if seen[r.Name] {
			continue
		}
		order, enabled := r.Order, r.Enabled
		plan.Changes = append(plan.Changes, ruleChange{Action: actDelete, Name: r.Name, ID: r.ID, Order: &order, Enabled: &enabled, remote: r})
	}
	slices.SortStableFunc(plan.Changes, func(a, b ruleChange) int { return strings.Compare(a.Name, b.Name) })
	return plan, nil
}

// printPlan shows the plan for a person: one line a rule, then the script diffs.
func printPlan(w *bufio.Writer, plan rulePlan) {
	for _, ch := range plan.Changes {
		switch ch.Action {
		case actCreate:
			order := "last"
			if ch.Order != nil {
				order = fmt.Sprint(*ch.Order)
			}
			fmt.Fprintf(w, "+ create     %s (order %s, enabled %t, %d lines)\n", ch.Name, order, *ch.Enabled, len(splitLines(ch.local.Script)))
		case actUpdate:
			var what []string
			for _, c := range ch.Changes {
				switch c {
				case "order":
					what = append(what, fmt.Sprintf("order %d → %d", *ch.FromOrder, *ch.Order))
				case "enabled":
					what = append(what, fmt.Sprintf("enabled %t → %t", ch.remote.Enabled, *ch.Enabled))
				default:
					what = append(what, "script")
				}
			}
			fmt.Fprintf(w, "~ update     %s: %s\n", ch.Name, strings.Join(what, ", "))
		case actDelete:
			fmt.Fprintf(w, "- delete     %s (order %d, %s)\n", ch.Name, *ch.Order, ch.ID)
		case actUnchanged:
			fmt.Fprintf(w, "  unchanged  %s\n", ch.Name)
		}
	}
	for _, ch := range plan.Changes {
		if ch.Diff != "" {
			fmt.Fprintf(w, "\n%s", ch.Diff)
		}
	}
	fmt.Fprintf(w, "\nplan: %d to create, %d to update, %d to delete, %d unchanged\n",
		plan.count(actCreate), plan.count(actUpdate), plan.count(actDelete), plan.count(actUnchanged))
}

func rulesPush(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	yes := cmd.fs.Bool("yes", false, "delete rules without asking (for CI)")
	dryRun := cmd.fs.Bool("dry-run", false, "show the plan, change nothing")
	pos, err := cmd.parse(args, "latch rules push DIR [--yes] [--dry-run]", 1)
	if err != nil {
		return err
	}
	local, err := readRulesDir(pos[0])
	if err != nil {
		return usageErrorf("%v", err)
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	remote, err := listRules(ctx, c)
	if err != nil {
		return err
	}
	plan, err := planRules(local, remote)
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	report := func(applied bool, done []string) error {
		if !cmd.json() {
			return nil
		}
		return writeJSON(cmd.stdout(), map[string]any{"plan": nonNil(plan.Changes), "applied": applied, "done": nonNil(done)})
	}
	if !cmd.json() {
		w := bufio.NewWriter(cmd.stdout())
		printPlan(w, plan)
		if err := w.Flush(); err != nil {
			return err
		}
	}
	changes := plan.count(actCreate) + plan.count(actUpdate) + plan.count(actDelete)
	if *dryRun || changes == 0 {
		if !cmd.json() && changes == 0 {
			fmt.Fprintln(cmd.stdout(), "latch's rules already match")
		}
		return report(false, nil)
	}
	if n := plan.count(actDelete); n > 0 && !*yes {
		var names []string
		for _, ch := range plan.Changes {
			if ch.Action == actDelete {
				names = append(names, ch.Name)
			}
		}
		if err := confirm(env, fmt.Sprintf("Delete %d rule(s) from latch (%s)?", n, strings.Join(names, ", "))); err != nil {
			_ = report(false, nil)
			return err
		}
	}
	done, err := applyPlan(ctx, c, plan, remote)
	if err != nil {
		_ = report(false, done)
		if len(done) > 0 {
			return fmt.Errorf("%w\nalready applied: %s\n(push again to finish: the plan is computed afresh)", err, strings.Join(done, "; "))
		}
		return err
	}
	if !cmd.json() {
		fmt.Fprintf(cmd.stdout(), "applied: %d created, %d updated, %d deleted\n", plan.count(actCreate), plan.count(actUpdate), plan.count(actDelete))
	}
	return report(true, done)
}

// applyPlan changes latch's rules so that no step breaks the unique (stage, order): deletes
// first (they free orders), then every rule whose order changes is moved to a free order out
// of the way, then updates take their final orders, then creates (given orders first, then
// the ones that go last). done lists what was applied, for a report when a step fails.
func applyPlan(ctx context.Context, c *client, plan rulePlan, remote []remoteRule) (done []string, err error) {
	for _, ch := range plan.Changes {
		if ch.Action != actDelete {
			continue
		}
		if err := c.call(ctx, http.MethodDelete, "/api/v2/rules/"+url.PathEscape(ch.ID), nil, nil); err != nil {
			return done, fmt.Errorf("deleting rule %q: %w", ch.Name, err)
		}
		done = append(done, "deleted "+ch.Name)
	}
	var moving []ruleChange
	for _, ch := range plan.Changes {
		if ch.Action == actUpdate && ch.FromOrder != nil {
			moving = append(moving, ch)
		}
	}
	if len(moving) > 0 {
		temp := tempOrders(plan, remote, len(moving))
		for i, ch := range moving {
			body := map[string]any{"order": temp[i]}
			if err := c.call(ctx, http.MethodPatch, "/api/v2/rules/"+url.PathEscape(ch.ID), body, nil); err != nil {
				return done, fmt.Errorf("moving rule %q out of the way (order %d): %w", ch.Name, temp[i], err)
			}
			done = append(done, fmt.Sprintf("moved %s to order %d", ch.Name, temp[i]))
		}
	}
	for _, ch := range plan.Changes {
		if ch.Action != actUpdate {
			continue
		}
		body := map[string]any{}
		for _, f := range ch.Changes {
			switch f {
			case "script":
				body["script"] = ch.local.Script
			case "order":
				body["order"] = *ch.Order
			case "enabled":
				body["enabled"] = *ch.Enabled
			}
		}
		if err := c.call(ctx, http.MethodPatch, "/api/v2/rules/"+url.PathEscape(ch.ID), body, nil); err != nil {
			return done, fmt.Errorf("updating rule %q: %w", ch.Name, err)
		}
		done = append(done, "updated "+ch.Name)
	}
	creates := slices.Clone(plan.Changes)
	slices.SortStableFunc(creates, func(a, b ruleChange) int {
		switch {
		case (a.Order == nil) == (b.Order == nil):
			return 0
		case a.Order == nil:
			return 1
		}
		return -1
	})
	for _, ch := range creates {
		if ch.Action != actCreate {
			continue
		}
		body := map[string]any{"name": ch.Name, "script": ch.local.Script, "enabled": *ch.Enabled}
		if ch.Order != nil {
			body["order"] = *ch.Order
		}
		if ch.local.Stage != "" {
			body["stage"] = ch.local.Stage
		}
		if err := c.call(ctx, http.MethodPost, "/api/v2/rules", body, nil); err != nil {
			return done, fmt.Errorf("creating rule %q: %w", ch.Name, err)
		}
		done = append(done, "created "+ch.Name)
	}
	return done, nil
}

// tempOrders picks n orders that no rule has now or after the push: above every one of
// them, or below when that would overflow latch's 32-bit orders.
func tempOrders(plan rulePlan, remote []remoteRule, n int) []int {
	lo, hi := 0, 0
	for _, r := range remote {
		lo, hi = min(lo, r.Order), max(hi, r.Order)
	}
	for _, ch := range plan.Changes {
		if ch.Order != nil {
			lo, hi = min(lo, *ch.Order), max(hi, *ch.Order)
		}
	}
	out := make([]int, n)
	for i := range out {
		if hi <= math.MaxInt32-n {
			out[i] = hi + 1 + i
		} else {
			out[i] = lo - 1 - i
		}
	}
	return out
}

// confirm asks a person; without a terminal there is nobody to ask, so the answer is no.
func confirm(env Env, question string) error {
	if !env.stdinTTY() {
		return refusedErrorf("refusing without confirmation: %s (no terminal to ask on; pass --yes)", strings.TrimSuffix(question, "?"))
	}
	fmt.Fprintf(env.Stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return refusedErrorf("not confirmed; nothing was changed")
}

// ---------------------------------------------------------------------------------------
// latch rules test FILE --user EMAIL --app CLIENT_ID

func rulesTest(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	email := cmd.fs.String("user", "", "email of the user to log in (required)")
	app := cmd.fs.String("app", "", "client_id of the application the login is for (required)")
	replace := cmd.fs.String("replace", "", "id of the saved rule the file stands in for (default: run it after the rules)")
	scope := cmd.fs.String("scope", "openid profile email", "scopes of the login")
	usage := "latch rules test FILE --user EMAIL --app CLIENT_ID [--replace RULE_ID] [--scope S]"
	pos, err := cmd.parse(args, usage, -1)
	if err != nil {
		return err
	}
	var missing []string
	if len(pos) == 0 {
		missing = append(missing, "FILE")
	}
	if *email == "" {
		missing = append(missing, "--user")
	}
	if *app == "" {
		missing = append(missing, "--app")
	}
	if len(missing) > 0 {
		return usageErrorf("missing %s\nusage: %s", strings.Join(missing, ", "), usage)
	}
	if len(pos) > 1 {
		return usageErrorf("one FILE at a time\nusage: %s", usage)
	}
	script, err := readFileLimited(pos[0], maxScriptFileBytes)
	if err != nil {
		return usageErrorf("%v", err)
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	users, err := usersByEmail(ctx, c, *email)
	if err != nil {
		return err
	}
	switch len(users) {
	case 0:
		return fmt.Errorf("no user has the email %s", *email)
	case 1:
	default:
		var ids []string
		for _, u := range users {
			ids = append(ids, u.UserID)
		}
		return fmt.Errorf("several users have the email %s (%s)", *email, strings.Join(ids, ", "))
	}
	rule := map[string]string{"script": string(script)}
	if *replace != "" {
		rule["id"] = *replace
	}
	var result json.RawMessage
	err = c.call(ctx, http.MethodPost, "/api/v2/rules/try", map[string]any{
		"user_id": users[0].UserID, "client_id": *app, "scope": *scope, "rule": rule,
	}, &result)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if json.Indent(&out, result, "", "  ") != nil {
		out.Reset()
		out.Write(result)
	}
	fmt.Fprintln(cmd.stdout(), out.String())
	var r struct{ Outcome string }
	_ = json.Unmarshal(result, &r)
	if r.Outcome != "ok" {
		return failed
	}
	return nil
}
