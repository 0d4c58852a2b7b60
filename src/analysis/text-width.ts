// Text widths for laying out the SVG figures without a canvas. vega otherwise estimates every character as
// 0.8 em, which makes titles and labels about a third too wide (figures padded with white space, labels cut
// early). These are the advance widths of DejaVu Sans and DejaVu Sans Bold (the first font the figures ask
// for), in 1/1000 em, read from the fonts' hmtx tables; Helvetica and Arial are a little narrower, so text
// laid out for DejaVu fits them too.

const CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~…×–µ';
const REGULAR = [318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,838,838,838,531,1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,685,611,685,390,337,390,838,500,500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,392,634,592,818,592,592,525,636,337,636,838,1000,838,500,636];
const BOLD = [348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,838,838,838,580,1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,771,724,725,457,365,457,838,500,500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,478,712,652,924,645,652,582,712,365,712,838,1000,838,500,736];

const regular = new Map<string, number>();
const bold = new Map<string, number>();
[...CHARS].forEach((c, i) => {
  regular.set(c, REGULAR[i]);
  bold.set(c, BOLD[i]);
});

/** Width in pixels of `text` at `fontSize` px (characters outside the table count as a wide "n"). */
export function textWidth(text: string, fontSize: number, isBold = false): number {
  const table = isBold ? bold : regular;
  const fallback = isBold ? 712 : 634;
  let units = 0;
  for (const c of text) units += table.get(c) ?? fallback;
  return (units / 1000) * fontSize;
}

/** A vega textMetrics.width function: (item, text) → pixels, honouring the item's size, weight and limit. */
export function vegaTextWidth(item: { fontSize?: number | string; fontWeight?: string | number; limit?: number }, text: unknown): number {
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  const w = item.fontWeight;
  const isBold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
  const s = text == null ? '' : String(text).trim();
  const width = textWidth(s, size, isBold);
  // a label with a limit is drawn truncated to it (vega asks for widths while truncating, too)
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
}
