import type { SimContext } from '../context';
import { HttpError, type Router } from '../router';
import type { VideoRecord } from '../videos';

/**
 * The video routes a client of finished items needs (6.14+, routers/videos.py@v6.14.0-rc1): the DTO, the file, the
 * thumbnail and the URLs. A missing video is a bare `HTTPException(404)`.
 */
export function videoRoutes(r: Router, ctx: SimContext): void {
  const { videos, profile } = ctx;
  if (!profile.nodes614) return;
  const video = (name: string): VideoRecord => {
    const v = videos.get(name);
    if (!v) throw new HttpError(404, 'Not Found');
    return v;
  };

  r.add('GET', '/videos/i/{video_name}', ({ params }) => ({ status: 200, json: videos.toDTO(video(params['video_name'] ?? '')) }));

  r.add(['GET', 'HEAD'], '/videos/i/{video_name}/full', ({ params }) => {
    const v = video(params['video_name'] ?? '');
    return { status: 200, bytes: videos.mp4(), contentType: 'video/mp4', headers: { 'accept-ranges': 'bytes', 'content-disposition': `inline; filename="${v.name}"` } };
  });

  r.add('GET', '/videos/i/{video_name}/thumbnail', ({ params }) => ({ status: 200, bytes: videos.thumbnail(video(params['video_name'] ?? '')), contentType: 'image/webp' }));

  r.add('GET', '/videos/i/{video_name}/urls', ({ params }) => {
    const dto = videos.toDTO(video(params['video_name'] ?? ''));
    return { status: 200, json: { video_name: dto.video_name, video_url: dto.video_url, thumbnail_url: dto.thumbnail_url } };
  });
}
