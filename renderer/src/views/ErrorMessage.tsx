import type { AppErrorData } from '../../../app/api/errors.js';

/** An error as the user sees it: the stable code, the message, and what it is about. */
export function ErrorMessage(props: { error: AppErrorData; title?: string }) {
  const { error } = props;
  return (
    <div className="error" role="alert">
      <strong>{props.title ?? 'Error'}</strong> <code className="error-code">{error.code}</code>
      <p className="error-message">{error.message}</p>
      {error.detail ? <pre className="error-detail">{error.detail}</pre> : null}
    </div>
  );
}
