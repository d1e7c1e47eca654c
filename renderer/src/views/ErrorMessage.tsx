import type { AppErrorData } from '../../../app/contract/errors.js';

/** An error as the user sees it: the stable code, the message, what it is about, and what it left as it was. */
export function ErrorMessage(props: { error: AppErrorData; title?: string; after?: string }) {
  const { error } = props;
  return (
    <div className="error" role="alert">
      <strong>{props.title ?? 'Error'}</strong> <code className="error-code">{error.code}</code>
      <p className="error-message">{error.message}</p>
      {error.detail ? <pre className="error-detail">{error.detail}</pre> : null}
      {props.after ? <p className="error-after">{props.after}</p> : null}
    </div>
  );
}
