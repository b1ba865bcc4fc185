import { imageNamesInResult, requestedBoardOf } from '../../src/ledger/nodeKinds';

describe('imageNamesInResult', () => {
  it('takes single images and collections from top-level fields only', () => {
    expect(imageNamesInResult({ type: 'image_output', image: { image_name: 'a.png' }, width: 1, height: 1 })).toEqual(['a.png']);
    expect(imageNamesInResult({ type: 'image_collection_output', collection: [{ image_name: 'a.png' }, { image_name: 'b.png' }] })).toEqual(['a.png', 'b.png']);
    expect(imageNamesInResult({ type: 'face_mask_output', image: { image_name: 'f.png' }, mask: { image_name: 'm.png' } })).toEqual(['f.png', 'm.png']);
    // nested references point at images made elsewhere (docs/protocol.md §4.1)
    expect(imageNamesInResult({ type: 'control_output', control: { image: { image_name: 'c.png' } } })).toEqual([]);
    // a tensor mask is not an image
    expect(imageNamesInResult({ type: 'gradient_mask_output', denoise_mask: { mask_name: 't' }, expanded_mask_area: { image_name: 'e.png' } })).toEqual(['e.png']);
    expect(imageNamesInResult({ type: 'integer_output', value: 3 })).toEqual([]);
    expect(imageNamesInResult(null)).toEqual([]);
  });

  it('reads the requested board, "none" when absent', () => {
    expect(requestedBoardOf({ board: { board_id: 'b1' } })).toBe('b1');
    expect(requestedBoardOf({ board: null })).toBe('none');
    expect(requestedBoardOf({})).toBe('none');
  });
});
