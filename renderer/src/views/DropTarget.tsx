import { useEffect, useState, type ReactNode } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/api/errors.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';

/** Electron only: a video dropped anywhere on the window is allowed by main, then opened. */
export function DropTarget(props: { children: ReactNode }) {
  const bridge = useBridge();
  const openVideo = useAppState((s) => s.openVideo);
  const [over, setOver] = useState(false);
  const [error, setError] = useState<AppErrorData | null>(null);
  const allow = bridge.allowDroppedFile;

  useEffect(() => {
    if (!allow) return;
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
      allow(file)
        .then((path) => {
          if (path) return openVideo(path);
          setError({ code: 'BAD_REQUEST', message: `${file.name} is not a file on disk` });
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
    <div className={over ? 'drop-target over' : 'drop-target'}>
      {error ? <ErrorMessage title="Could not open the dropped file" error={error} /> : null}
      {props.children}
    </div>
  );
}
