/**
 * saveResponse hands a downloaded body to the browser as a file, named by the
 * server's Content-Disposition when it sends one.
 */
export async function saveResponse(res: Response, fallbackName: string): Promise<void> {
  const named = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') ?? '')?.[1];
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = named ?? fallbackName;
  a.click();
  URL.revokeObjectURL(url);
}
