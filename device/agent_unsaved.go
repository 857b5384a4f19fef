package device

// unsavedPending remembers the held command (join, leave, set_role,
// renew_token) whose change could not be saved, so that its reply, which
// comes in a later step, says so too.
type unsavedPending struct {
	seq uint64 // the pending command's; 0: none
	err *ErrorBody
}

// settledUnsaved is the command settled in a step whose change was not
// saved: its ok reply becomes err.
type settledUnsaved struct {
	id  string
	err *ErrorBody
}

// of returns the error of the reply to id, nil when it is not the one.
func (s settledUnsaved) of(id string) *ErrorBody {
	if s.err != nil && s.id == id {
		return s.err
	}
	return nil
}

// track follows one step, from the pending command before (was) to after
// (now): a command held in a step whose save failed (err) is remembered,
// and the remembered one is returned once it is no longer pending.
func (u *unsavedPending) track(was, now *pending, err *ErrorBody) settledUnsaved {
	if err != nil && now != nil && (was == nil || was.seq != now.seq) {
		*u = unsavedPending{seq: now.seq, err: err}
		return settledUnsaved{}
	}
	if u.seq == 0 || was == nil || was.seq != u.seq || (now != nil && now.seq == u.seq) {
		return settledUnsaved{}
	}
	s := settledUnsaved{id: was.id, err: u.err}
	*u = unsavedPending{}
	return s
}
