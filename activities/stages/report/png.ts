import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import { CHART_FONT_FAMILY } from './svg.js';

/**
 * SVG to PNG for places that won't show SVG (chat, some Markdown viewers). The fonts come from the
 * dejavu-fonts-ttf package rather than the system: worker containers often have no fonts at all,
 * and resvg then draws every label as nothing, silently.
 */

const FONT_MODULES = ['dejavu-fonts-ttf/ttf/DejaVuSans.ttf', 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'];

let fontFiles: string[] | undefined;

/** Resolved on first use, so importing the report doesn't fail on a host that never draws a PNG. */
export function chartFontFiles(): string[] {
  fontFiles ??= FONT_MODULES.map((m) => createRequire(import.meta.url).resolve(m));
  return fontFiles;
}

/** `scale` multiplies the SVG's own width and height: 2 keeps text sharp on high-density screens. */
export function svgToPng(svg: string, scale = 1): Buffer {
  const resvg = new Resvg(svg, {
    font: { fontFiles: chartFontFiles(), loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY, sansSerifFamily: CHART_FONT_FAMILY },
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    background: '#ffffff',
    logLevel: 'off',
  });
  return resvg.render().asPng();
}
