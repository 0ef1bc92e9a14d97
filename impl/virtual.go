package impl

import "context"

// Virtual calls the server's steps the way the serving loop does: through
// the override when there is one, traced. It is what self.handle_error(…)
// is in a Python subclass, where Base is super().handle_error(…): an
// override that wants another step to run, hooks and trace included, calls
// it here.
type Virtual struct{ s *Server }

// Virtual returns the dispatching view of s's steps.
func (s *Server) Virtual() Virtual { return Virtual{s} }

func (v Virtual) GetRequest(ctx context.Context) (*Request, error) { return v.s.getRequest(ctx) }
func (v Virtual) VerifyRequest(r *Request) (bool, error)           { return v.s.verifyRequest(r) }
func (v Virtual) ProcessRequest(r *Request) error                  { return v.s.processRequest(r) }
func (v Virtual) FinishRequest(r *Request) error                   { return v.s.finishRequest(r) }
func (v Virtual) ShutdownRequest(r *Request)                       { v.s.shutdownRequest(r) }
func (v Virtual) CloseRequest(r *Request)                          { v.s.closeRequest(r) }
func (v Virtual) HandleError(r *Request, err error) error          { return v.s.handleError(r, err) }
func (v Virtual) HandleTimeout() error                             { return v.s.handleTimeout() }
func (v Virtual) ServiceActions() error                            { return v.s.serviceActions() }
func (v Virtual) CollectChildren(blocking bool)                    { v.s.collectChildren(blocking) }
