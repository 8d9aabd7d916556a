package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// write makes a scratch role and peer, learns what writes do, and removes them. Every
// write makes Peerdom send its webhooks, as any write through the API does.
func (d *doctor) write(ctx context.Context) {
	if d.liveMap == "" {
		d.add("scratch role", Skip, "no map to create a role on")
		return
	}
	stamp := d.opts.Now().UTC().Format("20060102T150405Z")
	name := "peerbridge doctor " + stamp
	body := map[string]any{"name": name, "mapId": d.liveMap}
	if d.root != "" {
		body["parentId"] = d.root
	}
	a, err := d.call(ctx, http.MethodPost, "/roles", body)
	roleID := idOf(a)
	if err != nil || a.Status >= 300 || roleID == "" {
		d.add("scratch role", Fail, "POST /roles: %s", answerText(a, err))
		return
	}
	d.add("scratch role", OK, "created %q (%s)", name, bodyKind(a))
	var peerID string
	defer func() { d.cleanup(ctx, roleID, peerID) }()
	rolePath := "/roles/" + url.PathEscape(roleID)

	d.putWithoutParent(ctx, rolePath, name)
	put := func(fields map[string]any) (peerdomapi.Answer, error) {
		b := map[string]any{"customFields": fields}
		if d.root != "" {
			b["parentId"] = d.root
		}
		return d.call(ctx, http.MethodPut, rolePath, b)
	}
	d.mergeOrReplace(ctx, rolePath, put)
	// Typed fields written as text.
	d.typedAsText(ctx, put)
	peerID = d.assignments(ctx, rolePath, stamp)
}

// putWithoutParent: is parentId needed on updates?
func (d *doctor) putWithoutParent(ctx context.Context, rolePath, name string) {
	if d.root == "" {
		return
	}
	a, err := d.call(ctx, http.MethodPut, rolePath, map[string]any{"name": name})
	switch {
	case err != nil:
		d.add("PUT without parentId", Skip, "%v", err)
	case a.Status >= 400 && a.Status < 500:
		d.add("PUT without parentId", Note, "refused (%d%s): peerbridge sends parentId with every update", a.Status, message(a.Body))
	default:
		d.add("PUT without parentId", OK, "accepted (%d)", a.Status)
	}
}

// mergeOrReplace: does a PUT of custom fields merge or replace them? Two untyped custom
// fields are written one after the other, then read back.
func (d *doctor) mergeOrReplace(ctx context.Context, rolePath string, put func(map[string]any) (peerdomapi.Answer, error)) {
	fa, fb := d.scratchFields()
	a1, err1 := put(map[string]any{fa: "doctor-a"})
	a2, err2 := put(map[string]any{fb: "doctor-b"})
	if err1 != nil || err2 != nil || a1.Status >= 300 || a2.Status >= 300 {
		d.add("PUT custom fields", Skip, "writing %q and %q: %s / %s", fa, fb, answerText(a1, err1), answerText(a2, err2))
		return
	}
	got, err := d.get(ctx, rolePath, url.Values{"with": {"customfields"}})
	var role peerdomapi.Role
	if err == nil {
		_ = json.Unmarshal(got.Body, &role)
	}
	va, _ := peerdomapi.FieldValues(role.CustomFields, fa)
	vb, _ := peerdomapi.FieldValues(role.CustomFields, fb)
	switch {
	case err != nil || got.Status != http.StatusOK:
		d.add("PUT custom fields", Skip, "reading the role back: %s", answerText(got, err))
	case len(vb) == 1 && vb[0] == "doctor-b" && len(va) == 1 && va[0] == "doctor-a":
		d.add("PUT custom fields", OK, "merged: a PUT leaves the custom fields it does not name (%s)", bodyKind(a2))
	case len(vb) == 1 && vb[0] == "doctor-b":
		d.add("PUT custom fields", Note, "replaced: a PUT empties the custom fields it does not name; role-defaults sends them back as read (%s)", bodyKind(a2))
	default:
		d.add("PUT custom fields", Warn, "written but not read back (%q: %q, %q: %q)", fa, va, fb, vb)
	}
}

// assignments makes a scratch peer and assigns it to the scratch role, assigns it again,
// and unassigns it; it returns the peer's id ("" when none was made), for the cleanup.
func (d *doctor) assignments(ctx context.Context, rolePath, stamp string) (peerID string) {
	a, err := d.call(ctx, http.MethodPost, "/peers", map[string]any{"firstName": "peerbridge-doctor", "lastName": stamp})
	peerID = idOf(a)
	if err != nil || a.Status >= 300 || peerID == "" {
		d.add("scratch peer", Fail, "POST /peers: %s", answerText(a, err))
		return peerID
	}
	d.add("scratch peer", OK, "created peerbridge-doctor %s (%s)", stamp, bodyKind(a))
	assign := func() (peerdomapi.Answer, error) {
		return d.call(ctx, http.MethodPost, rolePath+"/peers", map[string]any{"peerId": peerID})
	}
	a, err = assign()
	if err != nil || a.Status >= 300 {
		d.add("assignment", Fail, "POST /roles/{id}/peers: %s", answerText(a, err))
		return peerID
	}
	d.add("assignment answer", OK, "%s (peerbridge reads nothing from it)", bodyKind(a))
	a, err = assign()
	held := d.timesHeld(ctx, rolePath, peerID)
	switch {
	case err != nil:
		d.add("duplicate assignment", Skip, "%v", err)
	case a.Status >= 400 && a.Status < 500:
		d.add("duplicate assignment", OK, "refused (%d%s)", a.Status, message(a.Body))
	case a.Status < 300 && held > 1:
		d.add("duplicate assignment", Note, "accepted: the peer holds the role %d times; onboard-peer checks before assigning", held)
	case a.Status < 300:
		d.add("duplicate assignment", OK, "accepted, the peer holds it once")
	default:
		d.add("duplicate assignment", Skip, "%s", answerText(a, err))
	}
	for i := 0; i < 3 && d.timesHeld(ctx, rolePath, peerID) > 0; i++ {
		a, err = d.call(ctx, http.MethodDelete, rolePath+"/peers/"+url.PathEscape(peerID), nil)
		if i == 0 {
			if err != nil || a.Status >= 300 {
				d.add("unassignment answer", Fail, "DELETE /roles/{id}/peers/{peerId}: %s", answerText(a, err))
				break
			}
			d.add("unassignment answer", OK, "%s", bodyKind(a))
		}
	}
	return peerID
}

// scratchFields are two custom field names to write on the scratch role: untyped
// single-valued role fields the organization has, else Notes and Accountabilities.
func (d *doctor) scratchFields() (string, string) {
	var names []string
	for _, f := range d.fields() {
		if f.entity == "role" && f.typ == "" && !f.multi && !f.nonText {
			if _, builtin := peerdomapi.BuiltinKey(f.name); !builtin {
				names = append(names, f.name)
			}
		}
	}
	if len(names) >= 2 {
		return names[0], names[1]
	}
	return "Notes", "Accountabilities"
}

// typedAsText writes each typed role field (number, boolean) as text on the scratch role.
func (d *doctor) typedAsText(ctx context.Context, put func(map[string]any) (peerdomapi.Answer, error)) {
	var typed []fieldInfo
	for _, f := range d.fields() {
		if f.entity == "role" && (f.nonText || strings.EqualFold(f.typ, "number") || strings.EqualFold(f.typ, "boolean")) {
			typed = append(typed, f)
		}
	}
	if len(typed) == 0 {
		d.add("typed fields as text", Skip, "no typed role field to try")
		return
	}
	var refused, accepted []string
	for _, f := range typed {
		text := "1"
		if strings.EqualFold(f.typ, "boolean") {
			text = "true"
		}
		a, err := put(map[string]any{f.name: text})
		if err == nil && a.Status >= 400 && a.Status < 500 {
			refused = append(refused, fmt.Sprintf("%s (%s)%s", f.name, f.typ, message(a.Body)))
		} else {
			accepted = append(accepted, f.name)
		}
	}
	if len(refused) > 0 {
		d.add("typed fields as text", Note, "refused: %s; role-defaults sends kept fields as read", strings.Join(refused, "; "))
		return
	}
	d.add("typed fields as text", OK, "accepted: %s", strings.Join(accepted, ", "))
}

// timesHeld is how many times the role's holders name the peer (-1: unreadable).
func (d *doctor) timesHeld(ctx context.Context, rolePath, peerID string) int {
	a, err := d.get(ctx, rolePath, nil)
	var role peerdomapi.Role
	if err != nil || a.Status != http.StatusOK || json.Unmarshal(a.Body, &role) != nil {
		return -1
	}
	if !role.HoldersShown() {
		// Read from the peer's side.
		p, err := d.get(ctx, "/peers/"+url.PathEscape(peerID), url.Values{"with": {"roles"}})
		var peer peerdomapi.Peer
		if err != nil || json.Unmarshal(p.Body, &peer) != nil {
			return -1
		}
		n := 0
		for _, r := range peer.Roles {
			if "/roles/"+url.PathEscape(r.ID) == rolePath {
				n++
			}
		}
		return n
	}
	n := 0
	for _, h := range role.Holders {
		if h.PeerID == peerID {
			n++
		}
	}
	return n
}

// cleanup deletes the scratch peer and role, and says whether they are gone.
func (d *doctor) cleanup(ctx context.Context, roleID, peerID string) {
	var left []string
	var answer string
	del := func(what, path string) {
		a, err := d.call(ctx, http.MethodDelete, path, nil)
		if err != nil || a.Status >= 300 {
			left = append(left, fmt.Sprintf("%s %s (%s)", what, path, answerText(a, err)))
			return
		}
		if answer == "" {
			answer = bodyKind(a)
		}
		if g, err := d.get(ctx, path, nil); err != nil || g.Status != http.StatusNotFound {
			left = append(left, fmt.Sprintf("%s %s (still readable after DELETE)", what, path))
		}
	}
	if peerID != "" {
		del("peer", "/peers/"+url.PathEscape(peerID))
	}
	del("role", "/roles/"+url.PathEscape(roleID))
	if answer != "" {
		d.add("DELETE answer", OK, "%s", answer)
	}
	if len(left) > 0 {
		d.add("cleanup", Fail, "could not remove: %s; remove them in Peerdom by hand", strings.Join(left, "; "))
		return
	}
	d.add("cleanup", OK, "removed the scratch role and peer")
}

func idOf(a peerdomapi.Answer) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(a.Body, &v)
	return v.ID
}

func answerText(a peerdomapi.Answer, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d %s%s", a.Status, http.StatusText(a.Status), message(a.Body))
}
