import { useEffect, useState, type ReactNode } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';

/**
 * Files dropped anywhere on the window. In Electron main allows the file, then it is opened. A browser never tells
 * the page where a dropped file lives, so there the drop is only caught (instead of the tab leaving the app to show
 * the file) and the user is pointed to the folder list.
 */
export function DropTarget(props: { children: ReactNode }) {
  const bridge = useBridge();
  const openVideo = useAppState((s) => s.openVideo);
  const [over, setOver] = useState(false);
  const [error, setError] = useState<AppErrorData | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const allow = bridge.allowDroppedFile;

  useEffect(() => {
    const onDragOver = (event: DragEvent) => {
      event.preventDefault();
      setOver(true);
    };
    const onDragLeave = () => setOver(false);
    const onDrop = (event: DragEvent) => {
      event.preventDefault();
      setOver(false);
      const file = event.dataTransfer?.files[0];
      if (!file) return;
      setError(null);
      setNotice(null);
      if (!allow) {
        setNotice(
          `${file.name} was not opened: in a browser, open videos from the allowed folders or by path.`,
        );
        return;
      }
      allow(file)
        .then((path) => {
          if (path) return openVideo(path);
          setNotice(`${file.name} is not a file on disk.`);
        })
        .catch((err: unknown) => setError(toErrorData(err)));
    };
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('dragleave', onDragLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('dragleave', onDragLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, [allow, openVideo]);

  return (
    <div className={over && allow ? 'drop-target over' : 'drop-target'}>
      {error ? <ErrorMessage title="Could not open the dropped file" error={error} /> : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}{' '}
          <button type="button" className="link" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </p>
      ) : null}
      {props.children}
    </div>
  );
}
